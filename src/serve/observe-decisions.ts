/** The decision hook `sigil serve` gives the Check pipeline: metrics and (rate-limited) decision logs. */
import type { Logger } from 'pino';
import type { SigilMetrics } from '../admin/index.js';
import type { DecisionEvent } from '../authz/index.js';
import { createLogRateLimit } from './log-rate-limit.js';

/** Options of {@link observeDecisions}. */
export interface ObserveDecisionsOptions {
  /** Deny lines per second per code (default 10); the metrics count every decision regardless. */
  denyLinesPerSecond?: number;
  /** Milliseconds between "suppressed" lines per code (default 1000). */
  reportMs?: number;
}

/**
 * The Check pipeline's `onDecision` hook: exact Prometheus counters and timings for every decision, errors at
 * error level, allows at debug, and denies at info rate-limited per code, so a flood of garbage costs a bounded
 * number of log lines (a "deny lines suppressed" warn line per code and period carries the count).
 */
export function observeDecisions(
  metrics: SigilMetrics,
  logger: Logger,
  o: ObserveDecisionsOptions = {},
): (e: DecisionEvent) => void {
  // Label children resolved once: prom-client otherwise re-hashes the label set on every Check.
  const decided = { allow: new Map<string, { inc(): void }>(), deny: new Map<string, { inc(): void }>() };
  const timing = { allow: metrics.checkSeconds.labels('allow'), deny: metrics.checkSeconds.labels('deny') };
  const cache = { hit: metrics.chainCache.labels('hit'), miss: metrics.chainCache.labels('miss') };
  const proofs = {
    verified: metrics.proofs.labels('verified'),
    absent: metrics.proofs.labels('absent'),
    rejected: metrics.proofs.labels('rejected'),
  };
  const denyLine = createLogRateLimit({
    perSecond: o.denyLinesPerSecond,
    reportMs: o.reportMs,
    onSuppressed: (code, suppressed) =>
      logger.warn({ code, suppressed }, 'deny lines suppressed (rate limit)'),
  });
  return (e) => {
    const r = e.record;
    const byCode = decided[r.decision];
    let child = byCode.get(r.code);
    if (child === undefined) {
      child = metrics.decisions.labels(r.decision, r.code);
      // Codes are a closed set, but a policy can name its own: bound the map anyway.
      if (byCode.size < 1000) byCode.set(r.code, child);
    }
    child.inc();
    timing[r.decision].observe(e.seconds);
    if (e.cacheHit !== undefined) cache[e.cacheHit ? 'hit' : 'miss'].inc();
    if (r.pop !== undefined) proofs[r.pop].inc();
    if (e.ledgerError !== undefined) {
      metrics.ledgerErrors.inc();
      logger.error({ decision_id: r.id, err: e.ledgerError }, 'ledger could not record a decision');
    }
    if (r.code === 'AUTHZ_INTERNAL')
      logger.error({ decision_id: r.id, err: e.error }, 'authz pipeline failure');
    // Allows log at debug: the line is only built when it will be written (hot path).
    const deny = r.decision === 'deny';
    if (deny ? !logger.isLevelEnabled('info') || !denyLine(r.code) : !logger.isLevelEnabled('debug')) return;
    const line = {
      decision_id: r.id,
      decision: r.decision,
      code: r.code,
      status: r.http_status,
      sub: r.sub,
      tool: r.tool,
      path: r.path,
      index: e.receipt?.index,
    };
    if (deny) logger.info(line, 'deny');
    else logger.debug(line, 'allow');
  };
}
