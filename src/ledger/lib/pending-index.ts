/**
 * Index postings not yet written to LMDB (docs/ledger.md §4, "Deferred postings"). The secondary
 * indexes are derived from the entries, so they need not be durable with each commit: postings
 * accumulate here across commits and are written in bulk (one posting per (kind, value) for up to
 * thousands of entries) together with the watermark `meta.indexed`. A crash loses only this memory;
 * open rebuilds it from the entries at and after the watermark. Queries merge it with the stored
 * postings, so a query never misses a durable entry.
 */

/** One posting: [kind, value, first index] → ascending entry indices. */
export interface Posting {
  key: [string, string | number, number];
  indices: number[];
}

/** Postings of entries at or after the stored watermark, by `kind value`. */
export class PendingIndex {
  private map = new Map<string, Posting>();
  /** Pending entries (ascending) and when each was added (ms), for the flush rule. */
  private entries: number[] = [];
  private addedAt: number[] = [];

  /** Adds the (kind, value) keys of entry `index`; indices must arrive in ascending order. */
  add(index: number, keys: Array<[string, string | number]>, nowMs: number): void {
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
