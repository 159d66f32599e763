/**
 * LMDB key encodings of the ledger's format 4 (docs/ledger.md §2 "Keys"): every entry index, tree index
 * and row number is an unsigned integer up to 2^53 − 1 (JavaScript's safe range), stored as 8 bytes
 * big-endian, so the byte order LMDB sorts by is the numeric order. Exported for other ledger indexes
 * (a new named database keyed by entry index uses {@link indexKeyEncoder}).
 */

/** Most entries a log can hold: indices 0 … 2^53 − 2, sizes up to 2^53 − 1 (`Number.MAX_SAFE_INTEGER`). */
export const MAX_ENTRIES = Number.MAX_SAFE_INTEGER;

/** Bytes of an encoded index. */
export const U64_LEN = 8;

/** Whether `n` is an integer in [0, 2^53 − 1]: what an index key may hold. */
export const isKeyIndex = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

/**
 * Writes safe integer `n` (0 ≤ n ≤ 2^53 − 1) as 8 bytes big-endian at `at`; returns the end offset.
 * @throws RangeError for anything else (no key is ever written for an index the log cannot hold).
 */
export function writeU64(n: number, target: Uint8Array, at: number): number {
  if (!isKeyIndex(n)) throw new RangeError(`key index ${String(n)} is not an integer in [0, 2^53 - 1]`);
  // No 32-bit bit operators on n itself: it may exceed 2^32.
  const hi = Math.floor(n / 2 ** 32);
  const lo = n - hi * 2 ** 32;
  target[at] = hi >>> 24;
  target[at + 1] = (hi >>> 16) & 0xff;
  target[at + 2] = (hi >>> 8) & 0xff;
  target[at + 3] = hi & 0xff;
  target[at + 4] = lo >>> 24;
  target[at + 5] = (lo >>> 16) & 0xff;
  target[at + 6] = (lo >>> 8) & 0xff;
  target[at + 7] = lo & 0xff;
  return at + U64_LEN;
}

/**
 * Reads 8 bytes big-endian at `at`; -1 when they are not there or hold more than 2^53 − 1 (a damaged key:
 * -1 is never a valid index, so a walk in index order reports it as a gap).
 */
export function readU64(b: Uint8Array, at: number, end = b.length): number {
  if (end - at !== U64_LEN || at < 0 || end > b.length) return -1;
  const hi =
    (b[at] as number) * 2 ** 24 +
    (((b[at + 1] as number) << 16) | ((b[at + 2] as number) << 8) | (b[at + 3] as number));
  if (hi >= 2 ** 21) return -1;
  const lo =
    (b[at + 4] as number) * 2 ** 24 +
    (((b[at + 5] as number) << 16) | ((b[at + 6] as number) << 8) | (b[at + 7] as number));
  return hi * 2 ** 32 + lo;
}

/** The key of entry (or posting list, checkpoint …) index `n`: 8 bytes big-endian. */
export function indexKey(n: number): Buffer {
  const b = Buffer.allocUnsafe(U64_LEN);
  writeU64(n, b, 0);
  return b;
}

/** Inverse of {@link indexKey}; -1 for a malformed key. */
export const indexOfKey = (b: Uint8Array): number => readU64(b, 0);

/** A node row's key: (level, row) as one byte of level then the row as 8 bytes big-endian. */
export type NodeRowKey = [level: number, row: number];

/** The encoded key of node row (level, row): 9 bytes, sorting by level, then row. */
export function nodeRowKey(level: number, row: number): Buffer {
  const b = Buffer.allocUnsafe(1 + U64_LEN);
  writeNodeRowKey([level, row], b, 0);
  return b;
}

function writeNodeRowKey(key: NodeRowKey, target: Uint8Array, at: number): number {
  const [level, row] = key;
  // A tree of 2^53 − 1 leaves has levels 0 … 52.
  if (!Number.isInteger(level) || level < 0 || level > 63)
    throw new RangeError(`node level ${level} out of range`);
  target[at] = level;
  return writeU64(row, target, at + 1);
}

/** Inverse of {@link nodeRowKey}; row -1 for a malformed key. */
export function readNodeRowKey(b: Uint8Array, at = 0, end = b.length): [level: number, row: number] {
  if (end - at !== 1 + U64_LEN) return [b[at] ?? -1, -1];
  return [b[at] as number, readU64(b, at + 1, end)];
}

/**
 * lmdb-js passes its own default range start (the bytes `[5]`, meant for ordered-binary keys) to a
 * keyEncoder when a range has no `start`: written as `[0]` here, the smallest key, so no key is skipped
 * (a key starting with a byte below 5 — every index below 5·2^56 — would be).
 */
function writeDefaultStart(target: Uint8Array, at: number): number {
  target[at] = 0;
  return at + 1;
}

/**
 * lmdb-js `keyEncoder` for databases keyed by index (`entries64`): number keys in, number keys out,
 * 8-byte big-endian on disk. Range reads (`getRange({ start, end })`) take numbers too.
 */
export const indexKeyEncoder = {
  writeKey: (key: number, target: Uint8Array, start: number): number =>
    typeof key === 'number' ? writeU64(key, target, start) : writeDefaultStart(target, start),
  readKey: (b: Uint8Array, start: number, end: number): number => readU64(b, start, end),
};

/** lmdb-js `keyEncoder` of the `nodes64` database: `[level, row]` keys (see {@link nodeRowKey}). */
export const nodeRowKeyEncoder = {
  writeKey: (key: NodeRowKey, target: Uint8Array, start: number): number =>
    Array.isArray(key) ? writeNodeRowKey(key, target, start) : writeDefaultStart(target, start),
  readKey: (b: Uint8Array, start: number, end: number): [number, number] => readNodeRowKey(b, start, end),
};
