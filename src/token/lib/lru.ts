/**
 * A tiny bounded cache with approximate-LRU eviction in two generations: hits in the old generation are
 * promoted; when the young generation fills up, the old one is dropped whole. Every operation is O(1) and a
 * hit in the young generation costs one Map lookup (a strict LRU pays a delete + re-insert per hit, which
 * showed up in the hot-path profile). Holds at most 2 × `max` entries.
 */
export class Lru<K, V> {
  readonly #max: number;
  #young = new Map<K, V>();
  #old = new Map<K, V>();

  constructor(max: number) {
    this.#max = Math.max(1, max);
  }

  /** Value for `k`, or undefined. */
  get(k: K): V | undefined {
    const v = this.#young.get(k);
    if (v !== undefined) return v;
    const o = this.#old.get(k);
    if (o !== undefined) this.set(k, o);
    return o;
  }

  /** Stores `v`; may drop the least recently promoted generation. */
  set(k: K, v: V): void {
    if (this.#young.size >= this.#max && !this.#young.has(k)) {
      this.#old = this.#young;
      this.#young = new Map();
    }
    this.#young.set(k, v);
  }

  /** Number of entries currently held (both generations; a key may be counted twice). */
  get size(): number {
    return this.#young.size + this.#old.size;
  }
}
