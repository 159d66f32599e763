/**
 * The proof replay cache (docs/proof.md §6): `jti`s spent within their window, bounded, never evicting a live
 * entry. Its clock is the Check's (a frozen clock in tests), not performance.now().
 */
import { LRUCache } from 'lru-cache';

/** Purge expired entries of a full cache at most this often (a purge walks the whole cache). */
const PURGE_EVERY_MS = 1000;

/** Outcome of {@link ReplayCache.spend}. */
export type SpendResult = 'fresh' | 'replayed' | 'full';

/** A bounded set of spent `jti`s, each remembered until its proof could no longer pass the time checks. */
export interface ReplayCache {
  /** Records `jti` as spent until `untilMs`; 'replayed' if it already is, 'full' if no room (nothing stored). */
  spend(jti: string, untilMs: number, nowMs: number): SpendResult;
  /** Entries held (live, plus expired ones not yet purged). */
  readonly size: number;
}

/** Creates a {@link ReplayCache} holding at most `maxEntries` entries. */
export function createReplayCache(maxEntries: number): ReplayCache {
  let clockMs = 0;
  // ttlAutopurge stays off (a timer per entry): stale entries are dropped when touched and by the purge below.
  const seen = new LRUCache<string, true>({
    max: maxEntries,
    ttl: 1,
    ttlResolution: 0,
    perf: { now: () => clockMs },
  });
  let lastPurge = Number.NEGATIVE_INFINITY;
  return {
    spend(jti, untilMs, nowMs) {
      clockMs = nowMs;
      if (seen.has(jti)) return 'replayed';
      if (seen.size >= maxEntries) {
        if (nowMs - lastPurge >= PURGE_EVERY_MS) {
          lastPurge = nowMs;
          seen.purgeStale();
        }
        // Evicting the least recently used entry would re-open a live proof for replay: refuse instead.
        if (seen.size >= maxEntries) return 'full';
      }
      seen.set(jti, true, { ttl: Math.max(1, untilMs - nowMs) });
      return 'fresh';
    },
    get size() {
      return seen.size;
    },
  };
}
