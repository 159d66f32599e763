/**
 * The log's secondary index (docs/ledger.md §4), generic over what is indexed: an entry contributes
 * (kind, value) keys chosen by the layer above. A posting is key = lmdb-js ordered-binary array
 * [kind, value, firstIndex], value = the indices of entries with this (kind, value), ascending, as uint32
 * little-endian offsets from firstIndex (lib/posting-codec.ts), so a range scan over [kind, value] yields entry indices in log order. Postings are
 * derived data: they accumulate in memory ({@link PendingIndex}) and are stored in bulk up to the
 * `meta.indexed` watermark; a crash loses only the memory, re-derived from the entries at open.
 */
import { LedgerError } from '../errors.js';
import { MAX_ENTRIES } from './keys.js';
import { FORMAT_V3, type LogStore, readWatermark } from './log-store.js';
import { relativePosting, splitPosting, unpackAbsolute, unpackRelative } from './posting-codec.js';

/** One index key of an entry: (kind, value). */
export type IndexKey = [kind: string, value: string | number];

/** The index keys of a stored entry (undefined: the entry is not indexed). */
export type KeysOf = (entry: Buffer) => IndexKey[] | undefined;

/** The indices of a stored posting (`key[2]` its first index), in the store's format; undefined if damaged. */
function unpackPosting(store: LogStore, key: Array<string | number>, b: Uint8Array): number[] | undefined {
  return store.format === FORMAT_V3 ? unpackAbsolute(b) : unpackRelative(key[2] as number, b);
}

/** Stores `indices` (ascending) under [kind, value, first]: one posting per span of ≤ 2^32 − 1 indices. */
function putPosting(
  store: LogStore,
  kind: string,
  value: string | number,
  indices: number[],
  sync: boolean,
): void {
  for (const list of splitPosting(indices)) {
    const key = [kind, value, list[0] as number];
    if (sync) store.idx.putSync(key, relativePosting(list));
    else store.idx.put(key, relativePosting(list));
  }
}

/** One posting: [kind, value, first index] → ascending entry indices. */
export interface Posting {
  key: [string, string | number, number];
  indices: number[];
}

/** Postings of entries at or after the stored watermark, by `kind value`. */
class PendingIndex {
  private map = new Map<string, Posting>();
  /** Pending entries (ascending) and when each was added (ms), for the flush rule. */
  private entries: number[] = [];
  private addedAt: number[] = [];

  /** Adds the (kind, value) keys of entry `index`; indices must arrive in ascending order. */
  add(index: number, keys: IndexKey[], nowMs: number): void {
    this.entries.push(index);
    this.addedAt.push(nowMs);
    for (const [kind, v] of keys) {
      const k = `${kind}\u0000${v}`;
      const p = this.map.get(k);
      if (p) {
        if (p.indices[p.indices.length - 1] !== index) p.indices.push(index);
      } else this.map.set(k, { key: [kind, v, index], indices: [index] });
    }
  }

  /** True when the postings should be written: `maxEntries` reached or the oldest is `maxAgeMs` old. */
  due(nowMs: number, maxEntries: number, maxAgeMs: number): boolean {
    const n = this.entries.length;
    return n > 0 && (n >= maxEntries || nowMs - (this.addedAt[0] as number) >= maxAgeMs);
  }

  /** Number of entries whose postings are pending. */
  get size(): number {
    return this.entries.length;
  }

  /** Copies of the pending postings restricted to indices below `end` (what a commit will store). */
  snapshot(end: number): Posting[] {
    const out: Posting[] = [];
    for (const p of this.map.values()) {
      const indices = p.indices.filter((i) => i < end);
      if (indices.length > 0) out.push({ key: [p.key[0], p.key[1], indices[0] as number], indices });
    }
    return out;
  }

  /** Forgets indices below `end` (they are stored now). */
  dropBelow(end: number): void {
    for (const [k, p] of this.map) {
      const rest = p.indices.filter((i) => i >= end);
      if (rest.length === 0) this.map.delete(k);
      else {
        p.indices = rest;
        p.key = [p.key[0], p.key[1], rest[0] as number];
      }
    }
    let n = 0;
    while (n < this.entries.length && (this.entries[n] as number) < end) n++;
    this.entries.splice(0, n);
    this.addedAt.splice(0, n);
  }

  /** Forgets everything (the caller rebuilds from disk). */
  clear(): void {
    this.map.clear();
    this.entries = [];
    this.addedAt = [];
  }

  /** The pending posting of exactly (kind, value), if any. */
  get(kind: string, value: string | number): Posting | undefined {
    return this.map.get(`${kind}\u0000${value}`);
  }

  /** Pending postings of `kind` whose numeric value lies in [lo, hi), by value. */
  numericRange(kind: string, lo: number, hi: number): Posting[] {
    const out: Posting[] = [];
    for (const p of this.map.values()) {
      const v = p.key[1];
      if (p.key[0] === kind && typeof v === 'number' && v >= lo && v < hi) out.push(p);
    }
    return out.sort((a, b) => (a.key[1] as number) - (b.key[1] as number));
  }
}

/** Stored postings (`idx`) below the watermark plus the pending ones at and above it. */
export class PostingIndex {
  readonly pending = new PendingIndex();
  /** Log size up to which postings are stored (`meta.indexed`). */
  indexed = 0;

  /** `keysOf` re-derives the keys of stored entries at load (none: a log without index). */
  constructor(
    private readonly store: LogStore,
    private readonly keysOf?: KeysOf,
  ) {}

  /**
   * Reads the watermark and re-derives the postings of entries [indexed, size) (what a crash lost from
   * memory). @throws LedgerError `LEDGER_CORRUPT` (invalid watermark).
   */
  rebuild(size: number): void {
    const indexed = readWatermark(this.store.meta.get('indexed'), size);
    if (indexed === undefined) throw new LedgerError('LEDGER_CORRUPT', 'ledger index watermark is invalid');
    this.pending.clear();
    const now = performance.now();
    if (this.keysOf) {
      for (const { key, value } of this.store.entries.getRange({ start: indexed, end: size })) {
        const keys = this.keysOf(value);
        if (keys) this.pending.add(key, keys, now);
      }
    }
    this.indexed = indexed;
  }

  /** Writes `postings` (a snapshot up to `end`) and the watermark; call inside the commit transaction. */
  write(postings: Posting[], end: number): void {
    for (const p of postings) putPosting(this.store, p.key[0], p.key[1], p.indices, false);
    this.store.meta.put('indexed', end);
  }

  /** Adopts watermark `end` once the transaction that wrote it committed. */
  stored(end: number): void {
    if (end <= this.indexed) return;
    this.pending.dropBelow(end);
    this.indexed = end;
  }

  /**
   * Deletes the stored indices below `to` from every posting of a key that entries [from, to) contribute,
   * re-deriving those keys from the bodies (docs/ledger.md §10 step 7): a posting wholly below `to` is
   * deleted, one that spans `to` is rewritten under its first remaining index. Call inside the prune
   * transaction, before the bodies go; `to` must not exceed the stored watermark. Cost: the postings of
   * those keys that start below `to`, which earlier prunes already cut down to this range's.
   * @throws LedgerError `LEDGER_CORRUPT` (damaged posting).
   */
  pruneBelow(from: number, to: number): void {
    if (!this.keysOf) return;
    const seen = new Set<string>();
    for (const { value } of this.store.entries.getRange({ start: from, end: to })) {
      for (const [kind, v] of this.keysOf(value) ?? []) {
        const k = `${kind}\u0000${v}`;
        if (seen.has(k)) continue;
        seen.add(k);
        // [kind, v] sorts before every [kind, v, i]: postings of this key whose first index is below `to`.
        const cut = [...this.store.idx.getRange({ start: [kind, v], end: [kind, v, to] })];
        for (const { key, value: packed } of cut) {
          const list = unpackPosting(this.store, key, packed);
          if (!list) throw new LedgerError('LEDGER_CORRUPT', 'an index posting is damaged');
          this.store.idx.removeSync(key);
          const rest = list.filter((i) => i >= to);
          if (rest.length > 0) putPosting(this.store, kind, v, rest, true);
        }
      }
    }
  }

  /** Entry indices of (kind, value) in log order (`desc`: newest first). */
  scan(kind: string, value: string | number, desc: boolean): Iterable<number> {
    // [kind, value] sorts before every [kind, value, i]: an exclusive end that still includes index 0.
    const pending = this.pending.get(kind, value);
    return this.merged([kind, value], [kind, value, MAX_ENTRIES + 1], pending ? [pending] : [], desc);
  }

  /** Entry indices of `kind` with a numeric value in [lo, hi), by value then index (`desc`: reversed). */
  scanRange(kind: string, lo: number, hi: number, desc: boolean): Iterable<number> {
    return this.merged([kind, lo], [kind, hi], this.pending.numericRange(kind, lo, hi), desc);
  }

  /**
   * The postings of (kind, value) — or, with `hi`, of `kind` with a numeric value in [value, hi) — as whole
   * lists (value and ascending indices), stored ones first, then pending ones: for counting (the time
   * histogram) without a generator step per entry. Unlike {@link scan}, not merged into one order.
   */
  *lists(kind: string, value: string | number, hi?: number): Generator<PostingList> {
    const end = hi === undefined ? [kind, value, MAX_ENTRIES + 1] : [kind, hi];
    yield* storedPostings(this.store, this.store.idx.getRange({ start: [kind, value], end }), this.indexed);
    const p = hi === undefined ? this.pending.get(kind, value) : undefined;
    const pending = p ? [p] : hi === undefined ? [] : this.pending.numericRange(kind, value as number, hi);
    for (const q of pending) yield { value: q.key[1], indices: q.indices.filter((i) => i >= this.indexed) };
  }

  /** Stored postings in [lo, hi) merged with the pending ones of the same keys. */
  private merged(
    lo: Array<string | number>,
    hi: Array<string | number>,
    pending: Posting[],
    desc: boolean,
  ): Iterable<number> {
    const stored = storedPostings(
      this.store,
      this.store.idx.getRange(desc ? { start: hi, end: lo, reverse: true } : { start: lo, end: hi }),
      this.indexed,
    );
    const fresh = pending.map((p) => ({
      value: p.key[1],
      indices: p.indices.filter((i) => i >= this.indexed),
    }));
    return mergePostings(stored, desc ? fresh.reverse() : fresh, desc);
  }
}

/** A posting's value (the index value, e.g. a time bucket) and its entry indices, ascending. */
export interface PostingList {
  value: string | number;
  indices: number[];
}

/**
 * Stored postings in scan order, decoded, keeping only indices below the watermark (a commit that
 * stored postings is visible before its watermark is adopted in memory; the pending copy still
 * answers for those indices until then, so nothing is listed twice).
 */
function* storedPostings(
  store: LogStore,
  range: Iterable<{ key: Array<string | number>; value: Buffer }>,
  below: number,
): Generator<PostingList> {
  for (const { key, value } of range) {
    const list = unpackPosting(store, key, value);
    // Fail closed: a query must not silently skip entries behind a damaged posting.
    if (!list) throw new LedgerError('LEDGER_CORRUPT', 'an index posting is damaged');
    // Usually the whole posting is below the watermark: no second copy.
    const whole = (list[list.length - 1] as number) < below;
    yield { value: key[1] as string | number, indices: whole ? list : list.filter((i) => i < below) };
  }
}

/**
 * Stored and pending postings of one scan (both in scan order) as entry indices in (value, index)
 * order, reversed when `desc`. Within one value every stored index is below every pending one (the
 * watermark splits them); a scan's values are all strings or all numbers, so `<` orders them either way.
 */
function* mergePostings(
  stored: Iterable<PostingList>,
  pending: PostingList[],
  desc: boolean,
): Generator<number> {
  let k = 0;
  const emit = function* (p: PostingList): Generator<number> {
    if (desc) for (let i = p.indices.length - 1; i >= 0; i--) yield p.indices[i] as number;
    else yield* p.indices;
  };
  // Pending before a stored posting when its value comes first in scan order (or, for desc, the same
  // value: its indices are the larger ones).
  const before = (a: PostingList, b: PostingList): boolean => (desc ? a.value >= b.value : a.value < b.value);
  for (const s of stored) {
    while (k < pending.length && before(pending[k] as PostingList, s))
      yield* emit(pending[k++] as PostingList);
    yield* emit(s);
  }
  while (k < pending.length) yield* emit(pending[k++] as PostingList);
}
