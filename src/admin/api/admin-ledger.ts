/**
 * Adapts the audit log (src/ledger MerkleLog) to the admin API's read-only {@link AdminLedger} port.
 * Paging backwards (`before`) has no ledger index of its own: without filters it walks entries by index; with
 * filters it reads the newest ≤ 10 000 hits of the ledger's best index and skips the newer ones (docs/dashboard.md).
 */
import type { MerkleLog } from '../../ledger/index.js';
import type { AdminLedger, DecisionEntry, DecisionFilter } from './deps.js';

/** Most ledger hits read for one filtered page. */
const FILTERED_WINDOW = 10_000;
/**
 * Most appended records decoded per second for live events. Beyond it the dashboard is told how many it missed and
 * refetches: a busy sidecar must not spend its Check loop decoding records nobody can read at that rate anyway.
 */
export const MAX_LIVE_PER_SECOND = 200;

/** Wraps a {@link MerkleLog} for {@link createAdminApi}. Only reads, plus making a checkpoint on demand. */
export function adminLedger(log: MerkleLog): AdminLedger {
  const decisionAt = (i: number): DecisionEntry | undefined => {
    try {
      return { index: i, record: log.decision(i) };
    } catch {
      return undefined; // an opaque (non-decision) entry: not shown
    }
  };
  return {
    size: () => log.size,
    async query(f: DecisionFilter): Promise<DecisionEntry[]> {
      const filtered =
        f.task !== undefined ||
        f.agent !== undefined ||
        f.decision !== undefined ||
        f.since !== undefined ||
        f.until !== undefined;
      if (!filtered) {
        const out: DecisionEntry[] = [];
        for (let i = Math.min(f.before ?? log.size, log.size) - 1; i >= 0 && out.length < f.limit; i--) {
          const e = decisionAt(i);
          if (e) out.push(e);
        }
        return out;
      }
      const { before, limit, ...filters } = f;
      const hits = log.query({
        ...filters,
        order: 'desc',
        limit: before === undefined ? limit : FILTERED_WINDOW,
      });
      return (before === undefined ? hits : hits.filter((h) => h.index < before)).slice(0, limit);
    },
    async entry(index: number): Promise<Uint8Array | undefined> {
      if (index >= log.size) return undefined;
      return log.entry(index);
    },
    async inclusionProof(index: number, size: number): Promise<Uint8Array[]> {
      return log.inclusionProof(index, size);
    },
    async checkpoint(minSize = 0) {
      const latest = log.checkpoints.latest();
      const cp = latest && latest.size >= minSize && latest.size > 0 ? latest : await log.checkpoints.make();
      return { size: cp.size, note: cp.note };
    },
    verifierKey: () => log.checkpoints.verifierKey,
    onAppend(listener, onSkip) {
      let windowStart = 0;
      let used = 0;
      return log.onAppend(({ first, size }) => {
        const now = Date.now();
        if (now - windowStart >= 1000) {
          windowStart = now;
          used = 0;
        }
        const take = Math.max(0, Math.min(size - first, MAX_LIVE_PER_SECOND - used));
        used += take;
        for (let i = first; i < first + take; i++) {
          const e = decisionAt(i);
          if (e) listener(e);
        }
        if (take < size - first) onSkip?.(size - first - take, size);
      });
    },
  };
}
