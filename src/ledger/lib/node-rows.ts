/**
 * Perfect-subtree hashes stored in rows of 32 per tree level (docs/ledger.md §2). Like C2SP tlog-tiles'
 * partial tiles, a row is rewritten whole while it fills up and never again once full; a read stays one
 * point lookup per hash.
 */
import type { Database } from 'lmdb';
import { LedgerError } from '../errors.js';
import { HASH_LEN } from './hash.js';
import type { NodeRowKey } from './keys.js';

/** Hashes per row. 32 × 32 B = 1 KiB: well inside one 4 KiB LMDB page (no overflow pages). */
const ROW_WIDTH = 32;

/** LMDB key of row `row` of `level` (lib/keys.ts encodes it: level byte, row as 8 bytes big-endian). */
const keyOfRow = (level: number, row: number): NodeRowKey => [level, row];

/** LMDB key of the row holding node (level, index). */
const rowKey = (level: number, index: number): NodeRowKey => keyOfRow(level, Math.floor(index / ROW_WIDTH));

/** In-memory map key of a row (rows of levels < 53 number < 2^48: no collision in the safe range). */
const mapKey = (level: number, row: number): string => `${level}/${row}`;

/** Byte offset of node `index` inside its row. */
const rowOffset = (index: number): number => (index % ROW_WIDTH) * HASH_LEN;

/**
 * The stored hash of node (level, index) as a fresh 32-byte buffer, or undefined when its row is
 * missing, too short, or not a whole number of hashes (damage is reported by the caller).
 */
export function readNodeHash(
  db: Database<Buffer, NodeRowKey>,
  level: number,
  index: number,
): Buffer | undefined {
  const row = db.getBinaryFast(rowKey(level, index));
  const at = rowOffset(index);
  if (!row || row.length % HASH_LEN !== 0 || row.length < at + HASH_LEN) return undefined;
  // getBinaryFast's buffer is reused by the next read: copy the hash out.
  return Buffer.from(row.subarray(at, at + HASH_LEN));
}

/**
 * The keys of the rows of levels below `belowLevel` whose leaves all lie in [from, to) but not all in
 * [0, from): what pruning [from, to) frees when [0, from) was pruned before (docs/ledger.md §10).
 */
export function rowsWithin(from: number, to: number, belowLevel: number): NodeRowKey[] {
  const keys: NodeRowKey[] = [];
  for (let level = 0; level < belowLevel; level++) {
    const span = ROW_WIDTH * 2 ** level;
    for (let row = Math.floor(from / span); row < Math.floor(to / span); row++)
      keys.push(keyOfRow(level, row));
  }
  return keys;
}

interface OpenRow {
  row: number;
  buf: Buffer;
  len: number;
}

/**
 * The node rows not known to be stored yet (docs/ledger.md §3, deferred tree): the partly filled row of
 * each level (so an append never reads back what it extends), rows completed since the last `take()`,
 * and completed rows handed to a transaction that has not committed; reads of them are served from here.
 */
export class OpenRows {
  /** The open row of each level, indexed by level (arrays, not Maps: add() runs ~2× per append). */
  private rows: Array<OpenRow | undefined> = [];
  /** Levels whose open row changed since the last take(), and a flag per level. */
  private touched: number[] = [];
  private isTouched: boolean[] = [];
  /** Rows completed since the last take(), by map key, with their LMDB key. */
  private full = new Map<string, { key: NodeRowKey; buf: Buffer }>();
  /** Completed rows already taken, by map key, with the take() generation that wrote them. */
  private written = new Map<string, { gen: number; buf: Buffer }>();
  private gen = 0;

  /** Loads the stored partial rows of a tree of `size` leaves. @throws `LEDGER_CORRUPT` if one is bad. */
  static load(db: Database<Buffer, NodeRowKey>, size: number): OpenRows {
    const r = new OpenRows();
    for (let level = 0; 2 ** level <= size; level++) {
      const count = Math.floor(size / 2 ** level);
      const filled = count % ROW_WIDTH;
      if (filled === 0) continue;
      const stored = db.getBinary(rowKey(level, count - 1));
      if (!stored || stored.length !== filled * HASH_LEN) {
        throw new LedgerError(
          'LEDGER_CORRUPT',
          `node row (${level}, ${Math.floor((count - 1) / ROW_WIDTH)}) is missing or has the wrong length`,
        );
      }
      const buf = Buffer.allocUnsafe(ROW_WIDTH * HASH_LEN);
      stored.copy(buf);
      r.rows[level] = { row: Math.floor((count - 1) / ROW_WIDTH), buf, len: filled };
    }
    return r;
  }

  /** Records the hash of the next node (level, index); nodes of one level arrive in index order. */
  add(level: number, index: number, hash: Uint8Array): void {
    const row = Math.floor(index / ROW_WIDTH);
    let open = this.rows[level];
    if (!open || open.row !== row) {
      open = { row, buf: Buffer.allocUnsafe(ROW_WIDTH * HASH_LEN), len: 0 };
      this.rows[level] = open;
    }
    open.buf.set(hash, open.len * HASH_LEN);
    open.len++;
    if (open.len === ROW_WIDTH) {
      // Complete: written once, the buffer handed over, not copied. (A touched flag left on this level is
      // harmless: take() skips levels without an open row.)
      this.full.set(mapKey(level, row), { key: keyOfRow(level, row), buf: open.buf });
      this.rows[level] = undefined;
    } else if (!this.isTouched[level]) {
      this.isTouched[level] = true;
      this.touched.push(level);
    }
  }

  /**
   * The rows changed since the last call, as (key, bytes) to write: completed rows, then snapshots of
   * partial ones. `gen` names this write for {@link OpenRows.stored}.
   */
  take(): { gen: number; rows: Array<[NodeRowKey, Buffer]> } {
    const gen = ++this.gen;
    const out: Array<[NodeRowKey, Buffer]> = [];
    for (const [mk, { key, buf }] of this.full) {
      out.push([key, buf]);
      this.written.set(mk, { gen, buf });
    }
    this.full.clear();
    for (const level of this.touched) {
      this.isTouched[level] = false;
      const open = this.rows[level];
      if (open) out.push([keyOfRow(level, open.row), Buffer.from(open.buf.subarray(0, open.len * HASH_LEN))]);
    }
    this.touched = [];
    return { gen, rows: out };
  }

  /**
   * The write of generation `gen` committed: forgets the completed rows of generations before it. Those of
   * `gen` itself are kept one more commit, so no read can race lmdb-js's renewal of its read snapshot.
   */
  stored(gen: number): void {
    for (const [key, w] of this.written) if (w.gen < gen) this.written.delete(key);
  }

  /** The hash of node (level, index) if this object holds it (a fresh 32-byte buffer), else undefined. */
  hashAt(level: number, index: number): Buffer | undefined {
    const row = Math.floor(index / ROW_WIDTH);
    const at = rowOffset(index);
    const open = this.rows[level];
    if (open && open.row === row) {
      return at < open.len * HASH_LEN ? Buffer.from(open.buf.subarray(at, at + HASH_LEN)) : undefined;
    }
    const key = mapKey(level, row);
    const buf = this.full.get(key)?.buf ?? this.written.get(key)?.buf;
    return buf ? Buffer.from(buf.subarray(at, at + HASH_LEN)) : undefined;
  }
}
