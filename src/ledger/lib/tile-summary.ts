/**
 * The archive index (docs/ledger.md §10 "Archive index"): per archived tile (256 entries), a small summary
 * kept in `meta` under `["tile_sum", n]` — the range of record times, which record kinds and decisions
 * occur, and a Bloom filter of the task and agent index values — so a query over the archive reads only
 * the bundles that may hold a match. A summary can only say "no match here" when that is certain; a
 * missing or unreadable summary means "read the bundle".
 *
 * Layout (version 1): byte 0 = 1; bytes 1–8 the smallest record `ts`, 9–16 the largest (8-byte
 * big-endian, lib/keys.ts); bytes 17–20 a uint32 big-endian bit set of {@link KIND_BITS} plus
 * {@link ALLOW_BIT}/{@link DENY_BIT}; bytes 21… the Bloom filter (8–128 bytes, k = 4 positions from the
 * SHA-256 of the value).
 */
import { sha256 } from '../../lib/bytes.js';
import { LIFECYCLE_KINDS } from '../record.js';
import { readU64, writeU64 } from './keys.js';

/** Record kinds as a query names them, one bit each (bit i = KIND_BITS[i]). */
const KIND_BITS: readonly string[] = ['decision', 'aggregate', 'dropped', ...LIFECYCLE_KINDS];
const ALLOW_BIT = 29;
const DENY_BIT = 30;
const HEADER = 21;
const K = 4;

/** What the summary needs of one entry: undefined for an entry that is not a record (never matches). */
export interface TileFacts {
  kind: string;
  decision?: string | undefined;
  ts: number;
  /** The entry's Bloom values (task and agent index values, as the index keys them). */
  keys: string[];
}

/** What a query asks that a summary can rule out. */
export interface TileFilter {
  kind?: string | undefined;
  decision?: string | undefined;
  since?: number | undefined;
  until?: number | undefined;
  /** Every one of these values must occur in a matching entry (task, agent). */
  keys: string[];
}

const bit = (n: number): number => 2 ** n;

/** The 4 Bloom positions of `value` in a filter of `m` bits. */
function positions(value: string, m: number): number[] {
  const h = sha256(value);
  return [0, 4, 8, 12].slice(0, K).map((at) => h.readUInt32BE(at) % m);
}

/** The summary of one tile's entries (docs: module comment). */
export function encodeTileSummary(facts: ReadonlyArray<TileFacts | undefined>): Buffer {
  let min = Number.MAX_SAFE_INTEGER;
  let max = 0;
  let kinds = 0;
  const values = new Set<string>();
  for (const f of facts) {
    if (!f) continue;
    min = Math.min(min, f.ts);
    max = Math.max(max, f.ts);
    const k = KIND_BITS.indexOf(f.kind);
    if (k >= 0) kinds |= bit(k);
    if (f.decision === 'allow') kinds |= bit(ALLOW_BIT);
    if (f.decision === 'deny') kinds |= bit(DENY_BIT);
    for (const v of f.keys) values.add(v);
  }
  // ~10 bits per value (≈1 % false positives at k = 4), a power of two from 8 to 128 bytes.
  let bytes = 8;
  while (bytes < 128 && bytes * 8 < values.size * 10) bytes *= 2;
  const out = Buffer.alloc(HEADER + bytes);
  out[0] = 1;
  writeU64(min > max ? 0 : min, out, 1);
  writeU64(max, out, 9);
  out.writeUInt32BE(kinds >>> 0, 17);
  for (const v of values) {
    for (const p of positions(v, bytes * 8))
      out[HEADER + (p >> 3)] = (out[HEADER + (p >> 3)] as number) | (1 << (p & 7));
  }
  return out;
}

/**
 * Whether a tile with `summary` may hold an entry matching `f`: false only when certain. A summary that
 * does not parse answers true (the bundle is read).
 */
export function tileMayMatch(summary: Uint8Array, f: TileFilter): boolean {
  if (summary.length < HEADER + 8 || summary[0] !== 1) return true;
  const bloom = summary.length - HEADER;
  if ((bloom & (bloom - 1)) !== 0 || bloom > 128) return true;
  const min = readU64(summary, 1, 9);
  const max = readU64(summary, 9, 17);
  const kinds = Buffer.from(summary.buffer, summary.byteOffset, summary.byteLength).readUInt32BE(17);
  // No record at all: nothing in the tile can match any filter.
  if ((kinds & (bit(KIND_BITS.length) - 1)) === 0) return false;
  if (f.kind !== undefined) {
    const k = KIND_BITS.indexOf(f.kind);
    if (k >= 0 && (kinds & bit(k)) === 0) return false;
  }
  if (f.decision === 'allow' && (kinds & bit(ALLOW_BIT)) === 0) return false;
  if (f.decision === 'deny' && (kinds & bit(DENY_BIT)) === 0) return false;
  if (min >= 0 && max >= 0) {
    if (f.since !== undefined && max < f.since) return false;
    if (f.until !== undefined && min > f.until) return false;
  }
  for (const v of f.keys) {
    for (const p of positions(v, bloom * 8))
      if (((summary[HEADER + (p >> 3)] as number) & (1 << (p & 7))) === 0) return false;
  }
  return true;
}
