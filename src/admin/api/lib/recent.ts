/**
 * The newest decisions, kept decoded in memory for the graph. Decoding a ledger record costs tens of microseconds
 * and runs on the same event loop as Check, so re-reading 5 000 records per graph request would stall the sidecar
 * for 100+ ms. Instead only entries appended since the last request are read, newest first, at most `window` of them,
 * in slices of SLICE with a yield to the event loop in between.
 */
import type { AdminLedger, DecisionEntry } from './ledger.js';

const SLICE = 100;

/** A sliding window over the newest decisions. */
export class RecentDecisions {
  readonly #ledger: AdminLedger;
  readonly #window: number;
  /** Ascending by index. */
  #entries: DecisionEntry[] = [];
  /** Log size the window has been read up to. */
  #readTo = 0;
  #busy: Promise<DecisionEntry[]> | undefined;

  constructor(ledger: AdminLedger, window: number) {
    this.#ledger = ledger;
    this.#window = window;
  }

  /** The newest ≤ `window` decisions (ascending by index), reading only what is new. Concurrent calls share one read. */
  get(): Promise<DecisionEntry[]> {
    this.#busy ??= this.#refresh().finally(() => {
      this.#busy = undefined;
    });
    return this.#busy;
  }

  async #refresh(): Promise<DecisionEntry[]> {
    await this.#ledger.caughtUp();
    const size = this.#ledger.size();
    // Unchanged log: the same array, so callers can memoise on its identity.
    if (size === this.#readTo) return this.#entries;
    if (size < this.#readTo) {
      // The log cannot shrink; if it looks smaller, start over rather than show a stale picture.
      this.#entries = [];
      this.#readTo = 0;
    }
    const fresh: DecisionEntry[] = [];
    let before = size;
    const floor = Math.max(this.#readTo, size - this.#window);
    while (before > floor && fresh.length < this.#window) {
      const page = await this.#ledger.query({ before, limit: Math.min(SLICE, before - floor) });
      const usable = page.filter((e) => e.index >= floor);
      fresh.push(...usable);
      if (page.length === 0 || usable.length < page.length) break;
      before = page[page.length - 1]!.index;
      // Let Check requests in between slices.
      await new Promise<void>((r) => setImmediate(r));
    }
    fresh.reverse();
    const merged = this.#entries.concat(fresh.filter((e) => e.index >= this.#readTo));
    this.#entries = merged.length > this.#window ? merged.slice(merged.length - this.#window) : merged;
    this.#readTo = size;
    return this.#entries;
  }
}
