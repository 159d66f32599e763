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

/**
 * Latency buckets of the Check and group-commit histograms, in seconds. Dense between 0.5 and 10 ms, where a
 * sidecar's p99 lives (a target there is a fraction of a millisecond; 2.5 → 5 ms in one bucket could not tell
 * 0.7× a peer's p99 from 1.3×); coarse above.
 */
const LATENCY_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.025,
  0.05, 0.1, 0.25, 1,
];

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
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    /** Verified-chain cache lookups by result (hit/miss). */
    chainCache: new Counter({
      name: 'sigil_chain_cache_total',
      help: 'Verified-chain cache lookups by result (hit, miss).',
      labelNames: ['result'] as const,
      registers,
    }),
    /** Proof-of-possession outcomes of verified callers (docs/proof.md §8): verified, absent, rejected. */
    proofs: new Counter({
      name: 'sigil_proofs_total',
      help: 'Workload Proof Token outcomes of verified callers (verified, absent, rejected).',
      labelNames: ['outcome'] as const,
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
      buckets: LATENCY_BUCKETS.slice(1),
      registers,
    }),
    /** Unauthenticated denies (no verified token) by code: every one, however the ledger stored it. */
    unauthenticatedDenies: new Counter({
      name: 'sigil_unauthenticated_denies_total',
      help: 'Denies without a verified token, by code (aggregated in the ledger per source, code and window).',
      labelNames: ['code'] as const,
      registers,
    }),
    /** Ledger entries counting unauthenticated denies, by kind (aggregate, dropped). */
    aggregateEntries: new Counter({
      name: 'sigil_ledger_aggregate_entries_total',
      help: 'Ledger entries written that count unauthenticated denies, by kind (aggregate, dropped).',
      labelNames: ['kind'] as const,
      registers,
    }),
    /**
     * Unauthenticated denies not written as aggregates, by reason: `disk_low` (free space below the reserve) or
     * `append_failed`. A `dropped` ledger entry records them later.
     */
    unauthenticatedDropped: new Counter({
      name: 'sigil_unauthenticated_denies_dropped_total',
      help: 'Unauthenticated denies only counted, not aggregated into the ledger, by reason (disk_low, append_failed); a dropped entry records them later.',
      labelNames: ['reason'] as const,
      registers,
    }),
    /** Free bytes of the data dir's filesystem at the last disk-guard probe. */
    diskFree: new Gauge({
      name: 'sigil_ledger_disk_free_bytes',
      help: "Free bytes (available to SIGIL) on the data dir's filesystem at the last disk-guard probe.",
      registers,
    }),
    /** 1 while free space is below `sigil.audit.min_free_bytes` (or cannot be measured). */
    diskLow: new Gauge({
      name: 'sigil_ledger_disk_low',
      help: 'Alarm: 1 while free space on the data dir filesystem is below sigil.audit.min_free_bytes (or unknown).',
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
