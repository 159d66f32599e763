/**
 * What `sigil serve` puts between the Check pipeline and the ledger (docs/ledger.md §4 "Entry kinds" and
 * "Disk guard"): the one place `sigil.audit.unauthenticated` and `sigil.audit.min_free_bytes` are mapped.
 * Verified decisions and allows go to the ledger one durable entry each; unauthenticated denies are
 * aggregated; the disk guard keeps the last `min_free_bytes` for the former. Metrics and logs are wired here.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { SigilMetrics } from '../admin/index.js';
import type { DecisionSink } from '../authz/index.js';
import type { SigilConfig } from '../config/index.js';
import type { MerkleLog } from '../ledger/index.js';
import { DiskGuard, type DiskProbe } from './disk-guard.js';
import { ledgerSink } from './ledger-sink.js';
import { createLogRateLimit } from './log-rate-limit.js';
import { UnauthenticatedDenies } from './unauthenticated-denies.js';

/** Optional parts of {@link auditIntake}. */
export interface AuditIntakeDeps {
  metrics: SigilMetrics;
  logger: Logger;
  /** Free-space probe (default statfs of the ledger directory). */
  probe?: DiskProbe;
  /** Disk-guard probe interval, ms (default 1000; 0 = only when a window ends). */
  guardIntervalMs?: number;
}

/** The sink and its parts. */
export interface AuditIntake {
  sink: DecisionSink;
  denies: UnauthenticatedDenies;
  guard: DiskGuard;
  /** Writes the last window (if the disk allows) and stops the timers; call before closing the ledger. */
  close(): Promise<void>;
}

/** Builds the DecisionSink `sigil serve` gives the Check pipeline, for the opened ledger `log`. */
export function auditIntake(config: SigilConfig, log: MerkleLog, deps: AuditIntakeDeps): AuditIntake {
  const { metrics, logger } = deps;
  const byCode = new Map<string, { inc(): void }>();
  const written = {
    aggregate: metrics.aggregateEntries.labels('aggregate'),
    dropped: metrics.aggregateEntries.labels('dropped'),
  };
  const errorLine = createLogRateLimit({
    perSecond: 1,
    onSuppressed: (_k, suppressed) =>
      logger.error({ suppressed }, 'aggregate ledger appends failed (lines suppressed)'),
  });
  let guard: DiskGuard | undefined;
  const denies = new UnauthenticatedDenies({
    windowMs: config.audit.unauthenticated.window_ms,
    maxKeys: config.audit.unauthenticated.max_keys,
    write: (r) => log.appendDecision(r),
    // Probed once per window end, so a flood costs one statfs per window, not one per request.
    mayWrite: () => !guard?.check(),
    observer: {
      denied(code) {
        let c = byCode.get(code);
        if (c === undefined) {
          c = metrics.unauthenticatedDenies.labels(code);
          // Codes are a closed set, but a policy on a public route can name its own: bound the map.
          if (byCode.size < 1000) byCode.set(code, c);
        }
        c.inc();
      },
      written: (kind) => written[kind].inc(),
      dropped: (n) => metrics.unauthenticatedDropped.labels('disk_low').inc(n),
      failed(err, n) {
        metrics.unauthenticatedDropped.labels('append_failed').inc(n);
        metrics.ledgerErrors.inc();
        if (errorLine('append')) logger.error({ err, denies: n }, 'ledger could not record an aggregate');
      },
    },
  });
  guard = new DiskGuard({
    dir: join(config.data_dir, 'ledger'),
    reserve: config.audit.min_free_bytes,
    ...(deps.probe ? { probe: deps.probe } : {}),
    intervalMs: deps.guardIntervalMs ?? 1000,
    onProbe(free, low) {
      metrics.diskFree.set(free);
      metrics.diskLow.set(low ? 1 : 0);
    },
    onChange(low, s) {
      const at = { free_bytes: s.free, min_free_bytes: s.reserve, ...(s.error ? { err: s.error } : {}) };
      if (low) {
        logger.warn(
          at,
          'free disk space is below sigil.audit.min_free_bytes: unauthenticated denies are only counted, the rest is kept for authenticated decisions',
        );
        return;
      }
      logger.warn(
        { ...at, dropped: denies.droppedPending },
        'free disk space is back above sigil.audit.min_free_bytes: writing the dropped tally',
      );
      void denies.flush();
    },
  });
  guard.check();
  const g = guard;
  return {
    sink: ledgerSink(log, log.origin, denies),
    denies,
    guard: g,
    async close() {
      g.close();
      await denies.close();
      const lost = denies.droppedPending;
      if (lost > 0)
        logger.warn({ dropped: lost }, 'unauthenticated denies counted but not recorded at close');
    },
  };
}
