/**
 * Prometheus metrics of one SIGIL instance, on a per-instance Registry (so two instances in one process —
 * tests — never share counters). Names follow the Prometheus naming guide (`_total`, `_seconds`).
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Metrics the authz pipeline and serve update. */
export interface SigilMetrics {
  registry: Registry;
  /** Decisions by result (allow/deny) and code (OK, TBIT_*, AUTHZ_*, POLICY_*). */
  decisions: Counter<'result' | 'code'>;
  /** Pipeline latency of one Check, seconds (request in → response built, ledger append included). */
  checkSeconds: Histogram<'result'>;
  /** Verified-chain cache lookups by result (hit/miss). */
  chainCache: Counter<'result'>;
  /** Decisions the ledger failed to record. */
  ledgerErrors: Counter<string>;
  /** 1 once keys, trust bundle and ledger are open. */
  ready: Gauge<string>;
  /** Ledger group commits: seconds from submit to durable (fsync included in `sync` mode). */
  ledgerCommitSeconds: Histogram<string>;
  /** Ledger group commits: decisions per commit. */
  ledgerCommitEntries: Histogram<string>;
}

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
export function createMetrics(o: MetricsOptions = {}): SigilMetrics {
  const registry = new Registry();
  if (o.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const decisions = new Counter({
    name: 'sigil_decisions_total',
    help: 'Authorization decisions by result and stable code.',
    labelNames: ['result', 'code'] as const,
    registers: [registry],
  });
  const checkSeconds = new Histogram({
    name: 'sigil_check_duration_seconds',
    help: 'Time to decide one ext_authz Check (ledger append included).',
    labelNames: ['result'] as const,
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const chainCache = new Counter({
    name: 'sigil_chain_cache_total',
    help: 'Verified-chain cache lookups by result (hit, miss).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const ledgerErrors = new Counter({
    name: 'sigil_ledger_append_errors_total',
    help: 'Decisions the audit ledger could not record (each became a deny).',
    registers: [registry],
  });
  const ready = new Gauge({
    name: 'sigil_ready',
    help: '1 when keys, trust bundle and ledger are open.',
    registers: [registry],
  });
  // Sizes read at scrape time, so the hot path never touches them.
  const sizeGauge = (name: string, help: string, size: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(size());
      },
    });
  if (o.ledgerSize) sizeGauge('sigil_ledger_entries', 'Entries in the audit ledger.', o.ledgerSize);
  if (o.cacheSize) sizeGauge('sigil_chain_cache_entries', 'Verified chains currently cached.', o.cacheSize);
  const ledgerCommitSeconds = new Histogram({
    name: 'sigil_ledger_commit_duration_seconds',
    help: 'Audit ledger group commits: time from submitting the batch to LMDB until it was durable (fsync included in sync mode).',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const ledgerCommitEntries = new Histogram({
    name: 'sigil_ledger_commit_entries',
    help: 'Audit ledger group commits: decisions recorded per commit.',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 8192],
    registers: [registry],
  });
  return {
    registry,
    decisions,
    checkSeconds,
    chainCache,
    ledgerErrors,
    ready,
    ledgerCommitSeconds,
    ledgerCommitEntries,
  };
}
