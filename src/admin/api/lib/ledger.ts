/**
 * The audit log (src/ledger MerkleLog) as the admin API reads it: only reads, plus making a checkpoint on
 * demand; the routes get this view, never the log (so never its signing key).
 * Paging backwards (`before`) has no ledger index of its own: without filters it walks entries by index; with
 * filters it reads the newest ≤ 10 000 hits of the ledger's best index and skips the newer ones (docs/dashboard.md).
 */
import type {
  AuditHit,
  AuditQuery,
  Histogram,
  HistogramQuery,
  LedgerRecord,
  LifecycleRecord,
  MerkleLog,
} from '../../../ledger/index.js';
import { AdminApiError, badRequest } from '../errors.js';
import type { EventStreams } from './events.js';

/** One decision as stored, with its ledger index. */
export type DecisionEntry = AuditHit;

/**
 * A newest-first decision query: the ledger's filters plus `before` (only entries with index < before) and `kind`
 * (docs/ledger.md §4: `decision`, `aggregate`, `dropped`, a lifecycle kind, or `all`; only then are lifecycle
 * entries returned).
 */
export type DecisionFilter = Omit<AuditQuery, 'limit' | 'order'> & {
  before?: number;
  limit: number;
  kind?: string;
};

/** The admin API's view of the audit log. */
export type AdminLedger = ReturnType<typeof adminLedger>;

/** Most ledger hits read for one filtered page. */
const FILTERED_WINDOW = 10_000;
/** Most records scanned to fill one page when filtering by a field no index covers (code, tool, token, id). */
const CODE_SCAN_LIMIT = 20_000;
/** Most entries one `GET /api/proofs` proves. */
export const MAX_PROOFS = 1000;
/**
 * Most appended records decoded per second for live events. Beyond it the dashboard is told how many it missed and
 * refetches: a busy sidecar must not spend its Check loop decoding records nobody can read at that rate anyway.
 */
const MAX_LIVE_PER_SECOND = 200;

/** Wraps a {@link MerkleLog} for the admin API. */
export function adminLedger(log: MerkleLog) {
  const decisionAt = (i: number): DecisionEntry | undefined => {
    try {
      return { index: i, record: log.decision(i) };
    } catch {
      return undefined; // an opaque (non-decision) entry: not shown
    }
  };
  const query = ({ before, limit, ...filter }: DecisionFilter): DecisionEntry[] => {
    if (filter.kind !== undefined) {
      // `all`: decisions and lifecycle entries alike.
      const hits = log.queryEntries({
        ...filter,
        kind: filter.kind === 'all' ? undefined : filter.kind,
        order: 'desc',
        limit: before === undefined ? limit : FILTERED_WINDOW,
      });
      // Lifecycle entries have no decision fields; the views read them by `kind` (docs/dashboard.md).
      return (before === undefined ? hits : hits.filter((h) => h.index < before)).slice(
        0,
        limit,
      ) as DecisionEntry[];
    }
    if (Object.values(filter).every((v) => v === undefined)) {
      const out: DecisionEntry[] = [];
      for (let i = Math.min(before ?? log.size, log.size) - 1; i >= 0 && out.length < limit; i--) {
        const e = decisionAt(i);
        if (e) out.push(e);
      }
      return out;
    }
    const hits = log.query({
      ...filter,
      order: 'desc',
      limit: before === undefined ? limit : FILTERED_WINDOW,
    });
    return (before === undefined ? hits : hits.filter((h) => h.index < before)).slice(0, limit);
  };
  /**
   * Waits for entry `index` when it was answered but LMDB does not hold it yet (`durability: journal`
   * commits `commit_delay_ms`, default 100 ms, behind the answer), rather than answer "no entry" for a
   * receipt the caller has.
   */
  const held = async (index: number): Promise<void> => {
    if (index >= log.size) await log.caughtUp();
  };
  const checkpoint = async (minSize = 1): Promise<{ size: number; note: string }> => {
    const latest = log.checkpoints.latest();
    const cp = latest && latest.size >= Math.max(1, minSize) ? latest : await log.checkpoints.make();
    return { size: cp.size, note: cp.note };
  };
  return {
    /** Current number of entries. */
    size: (): number => log.size,
    /**
     * Resolves once every decision answered so far is readable here (read-your-writes for the API's reads):
     * with `durability: journal` LMDB trails the answers by `commit_delay_ms`; this commits the open batch now.
     */
    caughtUp: (): Promise<void> => log.caughtUp(),
    /** Newest-first decisions matching the filter. */
    query,
    /** The newest signed checkpoint (C2SP tlog-checkpoint in a signed note), made if none covers `minSize` entries. */
    checkpoint,
    /**
     * Entry `index` (base64 bytes the leaf hash covers) with its RFC 9162 §2.1.3.1 inclusion proof, taken against
     * exactly the size of the newest checkpoint covering it (made if needed).
     */
    async proof(index: number) {
      await held(index);
      if (index >= log.size)
        throw new AdminApiError('ADMIN_NOT_FOUND', `no entry ${index} (log size ${log.size})`);
      const cp = await checkpoint(index + 1);
      return {
        index,
        size: cp.size,
        entry: Buffer.from(log.entry(index)).toString('base64'),
        proof: log.inclusionProof(index, cp.size).map((h) => Buffer.from(h).toString('base64')),
        checkpoint: cp.note,
      };
    },
    /**
     * Pages newest-first through the log. `match` (the filters no ledger index covers: code, tool, token hash,
     * decision id) is applied here, scanning at most CODE_SCAN_LIMIT records; `next` is the `before` of the
     * following page, if any.
     */
    async page(
      filter: DecisionFilter,
      match?: (r: LedgerRecord) => boolean,
    ): Promise<{ items: DecisionEntry[]; next?: number }> {
      // The newest page includes every decision answered before the request.
      if (filter.before === undefined) await log.caughtUp();
      if (match === undefined) {
        const items = query(filter);
        return { items, next: items.length === filter.limit ? items.at(-1)?.index : undefined };
      }
      const items: DecisionEntry[] = [];
      let before = filter.before;
      let scanned = 0;
      while (items.length < filter.limit && scanned < CODE_SCAN_LIMIT) {
        const page = query({ ...filter, before, limit: 500 });
        for (const e of page) {
          scanned++;
          before = e.index;
          if (match(e.record)) {
            items.push(e);
            if (items.length === filter.limit) break;
          }
        }
        if (page.length < 500) return { items, next: items.length === filter.limit ? before : undefined };
      }
      return { items, next: before };
    },
    /**
     * Appends a lifecycle entry a CLI command made on this data dir (`POST /api/lifecycle`, docs/ledger.md §4
     * "One sequencer"): only entries with `via: "cli"` (an admin credential may not speak for the sidecar or the
     * issuer endpoint). @throws AdminApiError `ADMIN_BAD_REQUEST`; LedgerError `LEDGER_RECORD_INVALID`.
     */
    async recordCli(entry: Record<string, unknown>): Promise<{ index: number }> {
      if (entry.via !== 'cli') throw badRequest('only entries of CLI commands (via "cli") are accepted');
      return { index: (await log.appendLifecycle(entry as unknown as LifecycleRecord)).index };
    },
    /**
     * Allow/deny counts per time bucket over the whole log in [since, until], from the ledger's indexes
     * (MerkleLog.histogram); `tookMs` is the server time spent.
     */
    histogram(q: HistogramQuery): Histogram & { tookMs: number } {
      const t0 = performance.now();
      const h = log.histogram(q);
      return { ...h, tookMs: Math.round((performance.now() - t0) * 10) / 10 };
    },
    /** Builds the histogram's per-entry caches ahead of the first query (when a dashboard logs in). */
    warm(): void {
      if (log.size > 0) log.histogram({ since: 0, until: 0, buckets: 1 });
    },
    /**
     * Inclusion proofs of several entries against ONE checkpoint (the newest covering them all, made if
     * needed), so a browser verifies a filtered range in one go (RFC 9162 §2.1.3.1 per entry).
     */
    async proofs(indices: number[]) {
      const max = Math.max(...indices);
      await held(max);
      if (max >= log.size)
        throw new AdminApiError('ADMIN_NOT_FOUND', `no entry ${max} (log size ${log.size})`);
      const cp = await checkpoint(max + 1);
      return {
        size: cp.size,
        checkpoint: cp.note,
        entries: indices.map((index) => ({
          index,
          entry: Buffer.from(log.entry(index)).toString('base64'),
          proof: log.inclusionProof(index, cp.size).map((h) => Buffer.from(h).toString('base64')),
        })),
      };
    },
    /**
     * RFC 9162 §2.1.4.1 consistency proof from tree size `from` to `to` (default: the newest checkpoint's
     * size), with that checkpoint, so a browser can check the log it saw before is a prefix of this one.
     */
    async consistency(from: number, to?: number) {
      const latest = await checkpoint();
      const cp = to === undefined || to === latest.size ? latest : log.checkpoints.get(to);
      if (!cp) throw new AdminApiError('ADMIN_NOT_FOUND', `no checkpoint of size ${to}`);
      if (from < 1 || from > cp.size)
        throw badRequest(`from must be in [1, ${cp.size}] (the checkpoint's size)`);
      return {
        from,
        size: cp.size,
        checkpoint: cp.note,
        proof: log.consistencyProof(from, cp.size).map((h) => Buffer.from(h).toString('base64')),
      };
    },
    /** The checkpoint verifier key string `<name>+<hex keyid>+<base64(0x01 ‖ pubkey)>`. */
    verifierKey: (): string => log.checkpoints.verifierKey,
    /**
     * Publishes decisions appended from now on to `sink`, at most MAX_LIVE_PER_SECOND decoded per second;
     * the rest is reported as skipped with the log size after them. Returns the unsubscribe function.
     */
    onAppend(sink: Pick<EventStreams, 'publish' | 'publishSkipped'>): () => void {
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
          if (e) sink.publish(e);
        }
        if (take < size - first) sink.publishSkipped(size - first - take, size);
      });
    },
  };
}
