/**
 * The value of an index posting (docs/ledger.md §2, §4): the ascending entry indices listed under key
 * `[kind, value, firstIndex]`. Format 4 stores each as a uint32 little-endian offset from `firstIndex`
 * (the first is 0), so any index up to 2^53 − 2 fits in 4 bytes; format 3 stored absolute uint32 indices.
 */

/** Largest offset a format-4 posting can hold: a list spanning more is split (see {@link splitPosting}). */
const MAX_OFFSET = 0xffff_ffff;

/** Format 3: absolute uint32 LE indices; undefined unless a non-empty ascending list. */
export function unpackAbsolute(b: Uint8Array): number[] | undefined {
  if (b.length === 0 || b.length % 4 !== 0) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: number[] = new Array(b.length / 4);
  let prev = -1;
  for (let i = 0; i < out.length; i++) {
    const x = v.getUint32(i * 4, true);
    if (x <= prev) return undefined;
    out[i] = prev = x;
  }
  return out;
}

/** Format 4: `indices` (ascending, spanning ≤ 2^32 − 1) as uint32 LE offsets from the first. */
export function relativePosting(indices: readonly number[]): Buffer {
  const first = indices[0] as number;
  const b = Buffer.allocUnsafe(indices.length * 4);
  for (let i = 0; i < indices.length; i++) {
    const off = (indices[i] as number) - first;
    if (off > MAX_OFFSET) throw new RangeError('posting spans more than 2^32 - 1 indices');
    b.writeUInt32LE(off, i * 4);
  }
  return b;
}

/**
 * Format 4: the indices of a posting whose key's first index is `first`; undefined unless a non-empty
 * ascending list whose first offset is 0 (the key and the value agree).
 */
export function unpackRelative(first: number, b: Uint8Array): number[] | undefined {
  if (b.length === 0 || b.length % 4 !== 0 || !Number.isSafeInteger(first) || first < 0) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: number[] = new Array(b.length / 4);
  let prev = -1;
  for (let i = 0; i < out.length; i++) {
    const off = v.getUint32(i * 4, true);
    if (i === 0 ? off !== 0 : off <= prev) return undefined;
    prev = off;
    out[i] = first + off;
  }
  return out;
}

/** `indices` (ascending) cut into lists that each span at most 2^32 − 1 (each one posting). */
export function splitPosting(indices: readonly number[]): number[][] {
  const out: number[][] = [];
  let cur: number[] = [];
  for (const i of indices) {
    if (cur.length > 0 && i - (cur[0] as number) > MAX_OFFSET) {
      out.push(cur);
      cur = [];
    }
    cur.push(i);
  }
  if (cur.length > 0) out.push(cur);
  return out;
}
