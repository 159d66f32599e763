/**
 * C2SP tlog-tiles (https://c2sp.org/tlog-tiles) encoding and the archive directory (docs/ledger.md §10):
 * tile paths, hash tiles, entry bundles, and reading an archived entry back with its hash checked against
 * the tree the log kept. Knows bytes, indices and files only.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LedgerError } from '../errors.js';
import { HASH_LEN } from './hash.js';
import { nodeHashLeaf, nodeHashNode } from './node-hash.js';

/** Hashes per full tile and entries per full bundle (tlog-tiles "Merkle Tree": 256 hashes, 8192 bytes). */
export const TILE_WIDTH = 256;
/** Tree levels per tile level: a level-L tile holds the hashes of Merkle level 8·L. */
export const TILE_HEIGHT = 8;
/** Largest entry an entry bundle can hold (tlog-tiles "Log entries": big-endian uint16 length prefix). */
export const MAX_BUNDLE_ENTRY = 0xffff;

/**
 * The path of tile `n` of `level` (a tile level 0..63, or `entries` for an entry bundle), with `.p/<W>`
 * for a partial tile of width 1..255 (tlog-tiles "Merkle Tree": `n` as zero-padded 3-digit elements, all
 * but the last prefixed with `x`: 1234067 → `x001/x234/067`).
 */
export function tilePath(level: number | 'entries', n: number, width = TILE_WIDTH): string {
  const parts: string[] = [];
  let rest = n;
  do {
    parts.unshift(String(rest % 1000).padStart(3, '0'));
    rest = Math.floor(rest / 1000);
  } while (rest > 0);
  const name = parts.map((p, i) => (i < parts.length - 1 ? `x${p}` : p)).join('/');
  const partial = width < TILE_WIDTH ? `.p/${width}` : '';
  return `tile/${level}/${name}${partial}`;
}

/**
 * The tiles of a tree of `size` entries, per tile level: how many full tiles it has and the width of its
 * partial tile (0 = none). tlog-tiles "Partial Tiles": `floor(size / 256^L) mod 256` hashes.
 */
export function tilesOf(size: number): Array<{ level: number; full: number; partial: number }> {
  const out: Array<{ level: number; full: number; partial: number }> = [];
  for (let level = 0, span = 1; span <= size; level++, span *= TILE_WIDTH) {
    const hashes = Math.floor(size / span);
    out.push({ level, full: Math.floor(hashes / TILE_WIDTH), partial: hashes % TILE_WIDTH });
  }
  return out;
}

/** The bytes of a hash tile: `width` hashes of Merkle level 8·`level` from index `n`·256 on. */
export function hashTile(
  level: number,
  n: number,
  width: number,
  read: (level: number, index: number) => Uint8Array,
): Buffer {
  const out = Buffer.allocUnsafe(width * HASH_LEN);
  for (let i = 0; i < width; i++) out.set(read(level * TILE_HEIGHT, n * TILE_WIDTH + i), i * HASH_LEN);
  return out;
}

/**
 * An entry bundle: each entry as a big-endian uint16 length then its bytes (tlog-tiles "Log entries").
 * @throws LedgerError `LEDGER_BAD_ARGUMENT` for an entry longer than 65535 bytes (it cannot be archived).
 */
export function encodeBundle(entries: readonly Uint8Array[], first: number): Buffer {
  let len = 0;
  for (const [i, e] of entries.entries()) {
    if (e.length > MAX_BUNDLE_ENTRY) {
      throw new LedgerError(
        'LEDGER_BAD_ARGUMENT',
        `entry ${first + i} is ${e.length} bytes: a tlog-tiles entry bundle holds at most ${MAX_BUNDLE_ENTRY}`,
      );
    }
    len += 2 + e.length;
  }
  const out = Buffer.allocUnsafe(len);
  let at = 0;
  for (const e of entries) {
    out.writeUInt16BE(e.length, at);
    out.set(e, at + 2);
    at += 2 + e.length;
  }
  return out;
}

/**
 * The entries of a bundle, or undefined when it is not exactly `count` well-formed length-prefixed entries
 * (truncated, trailing bytes).
 */
export function decodeBundle(bytes: Uint8Array, count: number): Buffer[] | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Buffer[] = [];
  let at = 0;
  while (at < b.length) {
    if (at + 2 > b.length) return undefined;
    const len = b.readUInt16BE(at);
    if (at + 2 + len > b.length) return undefined;
    out.push(b.subarray(at + 2, at + 2 + len));
    at += 2 + len;
  }
  return out.length === count ? out : undefined;
}

/** Reads `path` under the archive, or undefined when it does not exist. @throws `LEDGER_IO` otherwise. */
export function readArchiveFile(archiveDir: string, path: string): Buffer | undefined {
  try {
    return readFileSync(join(archiveDir, path));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LedgerError('LEDGER_IO', `cannot read ${path} in the archive: ${(e as Error).message}`, e);
  }
}

/**
 * The entries of full bundle `n` from the archive, each checked against the leaf hash the log kept
 * (`leafAt`): an archive can be served by anyone, so nothing from it is trusted unchecked.
 * @throws LedgerError `LEDGER_ARCHIVED` (no archive, or the bundle is not in it), `LEDGER_CORRUPT` (a
 * bundle that does not decode or does not match the tree), `LEDGER_IO`.
 */
export function readBundle(
  archiveDir: string | undefined,
  n: number,
  leafAt: (index: number) => Uint8Array,
): Buffer[] {
  const path = tilePath('entries', n);
  if (archiveDir === undefined) {
    throw new LedgerError(
      'LEDGER_ARCHIVED',
      `entries ${n * TILE_WIDTH}.. are archived and no archive is mounted`,
    );
  }
  const bytes = readArchiveFile(archiveDir, path);
  if (!bytes)
    throw new LedgerError(
      'LEDGER_ARCHIVED',
      `entries ${n * TILE_WIDTH}.. are archived: ${path} is not in the archive`,
    );
  const entries = decodeBundle(bytes, TILE_WIDTH);
  if (!entries) throw new LedgerError('LEDGER_CORRUPT', `archive ${path} is not a full entry bundle`);
  for (const [i, e] of entries.entries()) {
    const index = n * TILE_WIDTH + i;
    if (!nodeHashLeaf(e).equals(leafAt(index))) {
      throw new LedgerError('LEDGER_CORRUPT', `archive ${path}: entry ${index} does not match its leaf hash`);
    }
  }
  return entries;
}

/**
 * The subtree hashes of levels 0..8 of full level-0 tile `n` (index `[level][i]`, i from the tile's
 * start at that level), read from the archive and checked: its root must be the level-8 node the log
 * kept (`kept`), so a tampered tile is refused and every hash returned is the log's own.
 * @throws LedgerError `LEDGER_ARCHIVED` (no archive, or the tile is not in it), `LEDGER_CORRUPT`, `LEDGER_IO`.
 */
export function readLeafTile(archiveDir: string | undefined, n: number, kept: Uint8Array): Buffer[][] {
  const path = tilePath(0, n);
  if (archiveDir === undefined) {
    throw new LedgerError(
      'LEDGER_ARCHIVED',
      `hashes of entries ${n * TILE_WIDTH}.. are archived and no archive is mounted`,
    );
  }
  const bytes = readArchiveFile(archiveDir, path);
  if (!bytes)
    throw new LedgerError(
      'LEDGER_ARCHIVED',
      `hashes of entries ${n * TILE_WIDTH}.. are archived: ${path} is not in the archive`,
    );
  if (bytes.length !== TILE_WIDTH * HASH_LEN)
    throw new LedgerError('LEDGER_CORRUPT', `archive ${path} is not a full tile`);
  const levels: Buffer[][] = [
    Array.from({ length: TILE_WIDTH }, (_, i) => bytes.subarray(i * HASH_LEN, (i + 1) * HASH_LEN)),
  ];
  for (let l = 1; l <= TILE_HEIGHT; l++) {
    const below = levels[l - 1] as Buffer[];
    levels.push(
      Array.from({ length: below.length / 2 }, (_, i) =>
        nodeHashNode(below[2 * i] as Buffer, below[2 * i + 1] as Buffer),
      ),
    );
  }
  if (!((levels[TILE_HEIGHT] as Buffer[])[0] as Buffer).equals(kept)) {
    throw new LedgerError('LEDGER_CORRUPT', `archive ${path} does not match the log's tree`);
  }
  return levels;
}
