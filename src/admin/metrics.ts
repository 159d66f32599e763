/**
 * Prometheus metrics of one SIGIL instance, on a per-instance Registry (so two instances in one process —
 * tests — never share counters). Names follow the Prometheus naming guide (`_total`, `_seconds`).
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Metrics the authz pipeline and serve update. */
export type SigilMetrics = ReturnType<typeof createMetrics>;

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** Current ledger size (read at scrape time). */
  ledgerSize?: () => number;
  /** Current number of cached chains (read at scrape time). */
  cacheSize?: () => number;
  /** Also export Node.js process metrics (default true). */
  processMetrics?: boolean;
}

/** Creates a fresh registry with SIGIL's metrics. */
export function createMetrics(o: MetricsOptions = {}) {
  const registry = new Registry();
  const registers = [registry];
  if (o.processMetrics !== false) collectDefaultMetrics({ register: registry });
  // Sizes read at scrape time, so the hot path never touches them.
  const sizeGauge = (name: string, help: string, size: () => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(size());
      },
    });
  if (o.ledgerSize) sizeGauge('sigil_ledger_entries', 'Entries in the audit ledger.', o.ledgerSize);
  if (o.cacheSize) sizeGauge('sigil_chain_cache_entries', 'Verified chains currently cached.', o.cacheSize);
  return {
    registry,
    /** Decisions by result (allow/deny) and code (OK, TBIT_*, AUTHZ_*, POLICY_*). */
    decisions: new Counter({
      name: 'sigil_decisions_total',
      help: 'Authorization decisions by result and stable code.',
      labelNames: ['result', 'code'] as const,
      registers,
    }),
    /** Pipeline latency of one Check, seconds (request in → response built, ledger append included). */
    checkSeconds: new Histogram({
      name: 'sigil_check_duration_seconds',
      help: 'Time to decide one ext_authz Check (ledger append included).',
      labelNames: ['result'] as const,
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    /** Verified-chain cache lookups by result (hit/miss). */
    chainCache: new Counter({
      name: 'sigil_chain_cache_total',
      help: 'Verified-chain cache lookups by result (hit, miss).',
      labelNames: ['result'] as const,
      registers,
    }),
    /** Decisions the ledger failed to record. */
    ledgerErrors: new Counter({
      name: 'sigil_ledger_append_errors_total',
      help: 'Decisions the audit ledger could not record (each became a deny).',
      registers,
    }),
    /** 1 once keys, trust bundle and ledger are open. */
    ready: new Gauge({
      name: 'sigil_ready',
      help: '1 when keys, trust bundle and ledger are open.',
      registers,
    }),
    /** Ledger group commits: seconds from submit to durable (fsync included in `sync` mode). */
    ledgerCommitSeconds: new Histogram({
      name: 'sigil_ledger_commit_duration_seconds',
      help: 'Audit ledger group commits: time from submitting the batch to LMDB until it was durable (fsync included in sync mode).',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    /** Ledger group commits: decisions per commit. */
    ledgerCommitEntries: new Histogram({
      name: 'sigil_ledger_commit_entries',
      help: 'Audit ledger group commits: decisions recorded per commit.',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 8192],
      registers,
    }),
  };
}
