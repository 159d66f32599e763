/**
 * The composition root of `sigil serve`: config → admin server (not ready) → issuer keys + trust store →
 * audit ledger → policy → authz pipeline + gRPC server → ready. `close()` drains in reverse order:
 * stop taking Checks (in-flight ones finish and are recorded), then the issuer, policy, ledger, admin.
 */
import { type Logger, pino } from 'pino';
import { type AdminServer, createMetrics, type SigilMetrics, startAdminServer } from '../admin/index.js';
import { type AuthzServer, createReplayCache, startAuthzServer } from '../authz/index.js';
import type { SigilConfig } from '../config/index.js';
import { type RunningIssuer, startIssuer } from '../issuer/index.js';
import type { MerkleLog } from '../ledger/index.js';
import { type Clock, systemClock } from '../lib/clock.js';
import { type PolicyDeciderHandle, policyEvalOptions } from '../policy/index.js';
import { type AuditIntake, auditIntake } from './audit-intake.js';
import { authzTransport, checkFromConfig, listenerOptions, proofEnabled } from './check-from-config.js';
import { dashboardFromConfig } from './dashboard-options.js';
import { issuerOptions, trustBundleWarning } from './issuer-options.js';
import { holdLedgerWriter } from './ledger-writer.js';
import { configHash, lifecycleRecorder, sigilVersion } from './lifecycle.js';
import { migrationLog } from './migration-log.js';
import { issuerListenKey, nameListenKey } from './name-listen-key.js';
import { observeDecisions } from './observe-decisions.js';
import { openAuditLog } from './open-audit-log.js';
import { createPolicyDecider, policyEngineOptions } from './policy-options.js';
import { startWitnessing } from './witness-options.js';
import { ClusterRegistry } from './workers/cluster-metrics.js';
import { startWorkerPool, type WorkerPool } from './workers/pool.js';
import { workersFromConfig } from './workers/workers-from-config.js';

/** Optional parts of {@link startSigil}. */
export interface StartSigilDeps {
  clock?: Clock;
  logger?: Logger;
  /** Longest wait for in-flight Checks on close(), ms (default 5000). */
  drainMs?: number;
  /** Built dashboard directory (default: found next to the package; tests pass a build of their own). */
  dashboardDir?: string;
}

/** The running parts, for handlers, tests and the demo. */
export interface SigilParts {
  config: SigilConfig;
  logger: Logger;
  metrics: SigilMetrics;
  issuer: RunningIssuer;
  ledger: MerkleLog;
  /** The OPA policy step; undefined when `sigil.policy.bundle` is not set (built-in TBIT-only policy). */
  policy: PolicyDeciderHandle | undefined;
}

/** A running SIGIL. */
export interface RunningSigil extends SigilParts {
  /** The ext_authz listener: this process's gRPC server, or the Check worker pool (`sigil.authz.workers` > 1). */
  authz: AuthzServer;
  /** The Check workers, when `sigil.authz.workers` > 1 (docs/authz.md §12). */
  workers: WorkerPool | undefined;
  /** The ledger sink: unauthenticated-deny aggregation and the disk guard (`flush()` ends a window now). */
  audit: AuditIntake;
  admin: AdminServer;
  /** True once keys, trust bundle and ledger are open and the authz server listens. */
  readonly ready: boolean;
  /**
   * Resolves once every lifecycle event so far (mint, delegate, revoke, rotation, …) was handed to the ledger, or
   * failed and was logged: they are appended in order on a chain of their own, after the operation answered.
   */
  lifecycleSettled(): Promise<void>;
  /** Graceful drain and stop (idempotent). */
  close(): Promise<void>;
}

/** Starts everything `sigil serve` runs. On a start-up failure, closes what was opened and rethrows. */
export async function startSigil(config: SigilConfig, deps: StartSigilDeps = {}): Promise<RunningSigil> {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? pino({ level: config.log.level, base: { svc: 'sigil' } });
  // Before anything opens: a worker count the configuration cannot run with is a start-up error.
  const workerCount = workersFromConfig(config);
  let pool: WorkerPool | undefined;
  const cleanup: Array<() => Promise<void> | void> = [];
  const closeAll = async () => {
    for (const c of cleanup.splice(0).reverse()) {
      try {
        await c();
      } catch (e) {
        logger.error({ err: e }, 'shutdown step failed');
      }
    }
  };
  let ready = false;
  let ledger: MerkleLog | undefined;
  let cacheSize = () => 0;
  const metrics = createMetrics({ ledgerSize: () => ledger?.size ?? 0, cacheSize: () => cacheSize() });
  // Lifecycle events from the modules; held until the ledger is open (the first keys are made before it).
  const lifecycle = lifecycleRecorder({ clock, logger });
  const { onLifecycle } = lifecycle;
  const sidecar = { version: sigilVersion(), config_hash: configHash(config) };
  try {
    const admin = await nameListenKey(
      'sigil.admin.listen',
      startAdminServer({
        listen: config.admin.listen,
        // With workers, /metrics merges theirs (Check metrics live there) with this process's.
        registry:
          workerCount > 1
            ? new ClusterRegistry(metrics.registry, async () => (pool ? pool.metrics() : []))
            : metrics.registry,
        // With workers, not ready while none serves (all died, re-forking): no Check could be answered.
        isReady: () => ready && (pool === undefined || pool.list().length > 0),
      }),
    );
    cleanup.push(() => admin.close());
    const narrowed = trustBundleWarning(config);
    if (narrowed !== undefined) logger.warn(narrowed);
    const issuer = await nameListenKey(
      issuerListenKey,
      startIssuer(issuerOptions(config), {
        clock,
        logger,
        onLifecycle,
        // With Check workers a revocation is answered once every worker has it (docs/workers.md §1).
        ...(workerCount > 1 ? { whenInForce: async () => pool?.inForce() } : {}),
      }),
    );
    cleanup.push(() => issuer.close());
    // The one sequencer: CLI commands next to this process send their entries here (docs/ledger.md §4).
    const writer = await holdLedgerWriter(config, (err) =>
      logger.error({ err }, 'the ledger writer lock was taken over: another process may append'),
    );
    cleanup.push(() => writer.release());
    ledger = await openAuditLog(
      config,
      {
        // A format-3 ledger is migrated here, for minutes if it is large: say so (docs/ledger.md §2).
        onMigration: migrationLog((fields, msg) => logger.info(fields, msg)),
        onJournalError: (err) =>
          logger.error(
            { err },
            'ledger journal write failed: decisions now wait for LMDB (as durability sync)',
          ),
        // Retention (docs/ledger.md §10): one line per run that archived something, and every failure.
        onCompaction: (r, err) => {
          if (err !== undefined)
            logger.warn({ err }, 'audit compaction failed; retried at the next interval');
          else if (r && r.pruned > r.prunedBefore)
            logger.info(
              { pruned: r.pruned, archived_from: r.prunedBefore, checkpoint: r.checkpoint },
              'audit log compacted',
            );
        },
      },
      'held',
    );
    const log = ledger;
    cleanup.push(() => log.close());
    let started = false;
    // Runs after the Checks drained and the policy closed, right before the ledger closes.
    cleanup.push(async () => {
      if (started) onLifecycle({ kind: 'sidecar.stop', ...sidecar });
      await lifecycle.settled();
    });
    // Group-commit health for operators: batch sizes and the commit (+ fsync) wait every decision pays.
    cleanup.push(
      log.onAppend(({ first, size, seconds }) => {
        metrics.ledgerCommitSeconds.observe(seconds);
        metrics.ledgerCommitEntries.observe(size - first);
      }),
    );
    lifecycle.attach(log);
    // Witnesses (docs/witness.md): before any Check, refuse a log that is behind or off what they cosigned.
    const witnessing = await startWitnessing(config, { log, registry: metrics.registry, logger, admin });
    cleanup.push(() => witnessing.close());
    const policy = await createPolicyDecider(config, {
      logger,
      registry: metrics.registry,
      clock,
      onLifecycle,
    });
    if (policy) cleanup.push(() => policy.close());
    // Closed after the authz server drained and before the ledger: the last window is written.
    const audit = auditIntake(config, log, { metrics, logger });
    cleanup.push(() => audit.close());
    if (config.authz.transport === 'h2') {
      logger.warn('sigil.authz.transport "h2" is deprecated: the listener runs @grpc/grpc-js');
    }
    let authz: AuthzServer;
    if (workerCount > 1) {
      // Check workers (docs/authz.md §12): they decide, this process records; their trust, policy bundle and
      // proof replay cache are this process's (docs/workers.md).
      const engine = policy?.engine;
      const evalOptions = policyEngineOptions(config);
      pool = await nameListenKey(
        'sigil.authz.listen',
        startWorkerPool({
          config,
          count: workerCount,
          records: { log, denies: audit.denies },
          trust: issuer.stores.trust,
          ...(engine && evalOptions
            ? {
                policy: {
                  options: policyEvalOptions(evalOptions),
                  active: () => engine.activeBundle,
                  onActivate: (l: () => Promise<void>) => engine.onActivate(l),
                },
              }
            : {}),
          ...(proofEnabled(config) ? { replay: createReplayCache(config.authz.proof_replay_cache_max) } : {}),
          logger,
          registry: metrics.registry,
          drainMs: deps.drainMs ?? 5000,
        }),
      );
      authz = pool;
    } else {
      const { check, chains } = checkFromConfig(config, {
        trust: issuer.stores.trust,
        ledger: audit.sink,
        clock,
        ...(policy ? { policy } : {}),
        onDecision: observeDecisions(metrics, logger),
      });
      cacheSize = () => chains.size;
      authz = await nameListenKey(
        'sigil.authz.listen',
        startAuthzServer({
          listen: config.authz.listen,
          check,
          ...listenerOptions(config),
          ...(deps.drainMs !== undefined ? { drainMs: deps.drainMs } : {}),
        }),
      );
    }
    // Drain Checks first so every in-flight decision is still recorded before the ledger closes.
    cleanup.push(() => authz.close());
    const parts: SigilParts = { config, logger, metrics, issuer, ledger: log, policy };
    const dashboard = await dashboardFromConfig(
      { ...parts, adminUrl: admin.url },
      { clock, ...(deps.dashboardDir ? { dashboardDir: deps.dashboardDir } : {}) },
    );
    admin.mount(dashboard);
    writer.publish(admin.url);
    cleanup.push(() => dashboard.close());
    onLifecycle({ kind: 'sidecar.start', ...sidecar });
    started = true;
    await lifecycle.settled();
    ready = true;
    metrics.ready.set(1);
    logger.info(
      {
        authz: authz.address,
        authz_transport: authzTransport(config),
        authz_workers: workerCount,
        ledger_durability: log.durability,
        ledger_hash_thread: log.hashThread,
        admin: admin.url,
        issuer_http: issuer.http?.url,
        issuer_grpc: issuer.grpc?.target,
        audience: config.authz.audience ?? config.agent.spiffe_id,
      },
      'sigil ready',
    );
    let closing: Promise<void> | undefined;
    return {
      ...parts,
      authz,
      workers: pool,
      audit,
      admin,
      get ready() {
        return ready;
      },
      lifecycleSettled: () => lifecycle.settled(),
      close() {
        closing ??= (async () => {
          ready = false;
          metrics.ready.set(0);
          await closeAll();
          logger.info('sigil stopped');
        })();
        return closing;
      },
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}
