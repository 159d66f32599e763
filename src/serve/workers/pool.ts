/**
 * The primary's side of Check workers (docs/authz.md §12): forks N workers with node:cluster (all listening on
 * the one `sigil.authz.listen` handle the primary holds), answers their batched appends through the ledger sink
 * (the one sequencer) and their proof jti spends from the one replay cache, replicates trust and the policy bundle
 * to every worker (docs/workers.md), re-forks a dead worker with backoff, drains them on close, and collects
 * their metrics for /metrics.
 */
import cluster, { type Worker } from 'node:cluster';
import { rmSync } from 'node:fs';
import type { Logger } from 'pino';
import { Counter, Gauge, type MetricObjectWithValues, type MetricValue, type Registry } from 'prom-client';
import type { ReplayCache } from '../../authz/index.js';
import type { SigilConfig } from '../../config/index.js';
import { ListenError } from '../../lib/listen.js';
import type { ActivePolicyBundle, PolicyEvalOptions } from '../../policy/index.js';
import type { ReplicableTrustStore } from '../../token/api.js';
import { WorkersError } from './errors.js';
import { IpcChannel, type IpcPort } from './ipc.js';
import {
  METHOD,
  type PolicyBundleMessage,
  type SpendAnswer,
  type SpendRequest,
  type WorkerHello,
  type WorkerInit,
} from './protocol.js';
import { appendBatch, type RecordIntake } from './record-batch.js';

/** The primary's policy, as workers mirror it (docs/workers.md §3). */
export interface ReplicatedPolicy {
  /** How the primary evaluates (entrypoint, time limit, isolation, limits). */
  options: PolicyEvalOptions;
  /** The bundle in force now, if any. */
  active(): ActivePolicyBundle | undefined;
  /**
   * Called after each activation; the promise it returns (every worker's acknowledgement) is what a refresh
   * waits for (docs/workers.md §3). Returns the function that stops it.
   */
  onActivate(listener: () => Promise<void>): () => void;
}

/** Options of {@link startWorkerPool}. */
export interface WorkerPoolOptions {
  config: SigilConfig;
  /** Number of workers, ≥ 2. */
  count: number;
  /** Where every worker's decisions go: the one ledger and the unauthenticated-deny aggregation. */
  records: RecordIntake;
  /** The trust workers mirror (docs/workers.md §2). */
  trust: ReplicableTrustStore;
  /** The policy workers mirror; absent = the built-in policy (no `sigil.policy.bundle`). */
  policy?: ReplicatedPolicy;
  /** The one proof replay cache; absent = proofs off. */
  replay?: ReplayCache;
  logger: Logger;
  /** Where `sigil_authz_workers` and `sigil_authz_worker_restarts_total` go. */
  registry: Registry;
  /** In-flight Checks' drain time per worker on close, ms. */
  drainMs: number;
  /** First re-fork delay after a crash, ms (default 100); doubles per crash up to `maxBackoffMs` (default 5000). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/** One live worker, as tests and the admin view see it. */
export interface WorkerInfo {
  slot: number;
  pid: number;
}

/** A running pool; shaped like an AuthzServer (address, port, close) so `sigil serve` treats both alike. */
export interface WorkerPool {
  address: string;
  port: number;
  /** Live, initialised workers. */
  list(): WorkerInfo[];
  /**
   * Resolves once every serving worker has the primary's current trust and policy bundle (docs/workers.md §1);
   * rejects when one refused (that worker is then replaced). The issuer's Revoke answers after it.
   */
  inForce(): Promise<void>;
  /** Each live worker's `getMetricsAsJSON()` (a worker that does not answer within 1 s is left out). */
  metrics(): Promise<MetricObjectWithValues<MetricValue<string>>[][]>;
  /** Stops accepting, drains every worker's in-flight Checks (their appends complete), then stops them. */
  close(): Promise<void>;
}

interface Slot {
  index: number;
  worker: Worker | undefined;
  channel: IpcChannel | undefined;
  pid: number;
  ready: boolean;
  /** Crashes in a row (reset once a worker has served for 10 s). */
  crashes: number;
  startedAt: number;
  /** True once `init` succeeded: state updates may go to it (it may not listen yet). */
  initialised: boolean;
  /** The trust version and the policy bundle (sha256) this worker acknowledged. */
  trustVersion: number;
  policySha: string | undefined;
  /** The state updates sent to this worker, in order (one at a time: each waits for the previous ack). */
  syncing: Promise<void>;
}

const SELF = import.meta.url;

/** The worker entry and the Node flags it needs: the built `.js`, or the `.ts` source run through tsx. */
function workerExec(): { exec: string; execArgv: string[] } {
  const ts = SELF.endsWith('.ts');
  const exec = new URL(ts ? './worker-main.ts' : './worker-main.js', SELF).pathname;
  const argv = [...process.execArgv];
  if (
    ts &&
    !argv.some(
      (a, i) => a.includes('tsx') && (i === 0 || argv[i - 1] === '--import' || a.startsWith('--import')),
    )
  )
    argv.push('--import', 'tsx');
  return { exec, execArgv: argv };
}

function spendArgs(p: unknown): SpendRequest {
  const a = p as SpendRequest;
  if (!Array.isArray(a) || typeof a[0] !== 'string' || typeof a[1] !== 'number' || typeof a[2] !== 'number')
    throw new WorkersError('WORKERS_BAD_MESSAGE', 'malformed spend request');
  return a;
}

/** Longest wait for a worker's `init` (policy bundle load included) and for its `listen`. */
const START_TIMEOUT_MS = 60_000;

const bundleMessage = (a: ActivePolicyBundle): PolicyBundleMessage => ({
  bytes: a.bytes,
  revision: a.revision,
});

/** Forks `count` workers and resolves once every one listens; on a start-up failure stops them and throws. */
export async function startWorkerPool(o: WorkerPoolOptions): Promise<WorkerPool> {
  if (!cluster.isPrimary) throw new WorkersError('WORKERS_BAD_MESSAGE', 'a worker cannot start workers');
  const { logger } = o;
  const minBackoff = o.minBackoffMs ?? 100;
  const maxBackoff = o.maxBackoffMs ?? 5000;
  const live = new Gauge({
    name: 'sigil_authz_workers',
    help: 'Check worker processes currently serving (sigil.authz.workers).',
    registers: [o.registry],
  });
  const restarts = new Counter({
    name: 'sigil_authz_worker_restarts_total',
    help: 'Check workers that died and were re-forked (their in-flight Checks failed closed).',
    registers: [o.registry],
  });
  const { exec, execArgv } = workerExec();
  let listen = o.config.authz.listen;
  // The primary holds the shared unix socket: remove a stale file once here, never in a worker.
  if (listen.startsWith('unix:')) rmSync(listen.slice('unix:'.length), { force: true });
  let closing = false;
  const slots: Slot[] = Array.from({ length: o.count }, (_, index) => ({
    index,
    worker: undefined,
    channel: undefined,
    pid: 0,
    ready: false,
    initialised: false,
    crashes: 0,
    startedAt: 0,
    trustVersion: -1,
    policySha: undefined,
    syncing: Promise.resolve(),
  }));
  const countLive = () => live.set(slots.filter((s) => s.ready).length);

  // A worker's records of one turn, as one batch of canonical bytes (record-batch.ts).
  const append = (p: unknown): Promise<Uint8Array> => appendBatch(o.records, p);
  // docs/workers.md §4: one cache for every worker, spends answered in arrival order.
  const replay = o.replay;
  const spend = (p: unknown): SpendAnswer => {
    if (!replay) throw new WorkersError('WORKERS_BAD_MESSAGE', 'proofs are off: no replay cache');
    const [jti, untilMs, nowMs] = spendArgs(p);
    return replay.spend(jti, untilMs, nowMs);
  };

  /**
   * Brings `slot` to the primary's current trust and policy (docs/workers.md §1), after whatever was sent to it
   * before. A refusal replaces the worker (§5: it must not keep deciding on older state) and rejects.
   */
  const sync = (slot: Slot): Promise<void> => {
    const run = async () => {
      const ch = slot.channel;
      if (!slot.initialised || !ch) return;
      try {
        if (slot.trustVersion !== o.trust.version) {
          const snap = o.trust.snapshot();
          await ch.call(METHOD.trust, snap, 10_000);
          slot.trustVersion = snap.version;
        }
        const active = o.policy?.active();
        if (active && slot.policySha !== active.sha256) {
          await ch.call(METHOD.policy, bundleMessage(active), 30_000);
          slot.policySha = active.sha256;
        }
      } catch (err) {
        if (slot.channel === ch && !closing) {
          logger.error(
            { err, worker: slot.index },
            "a Check worker refused the primary's state: replacing it",
          );
          slot.worker?.kill('SIGKILL');
        }
        throw err;
      }
    };
    const next = slot.syncing.then(run);
    slot.syncing = next.catch(() => {});
    return next;
  };
  const syncAll = async (): Promise<void> => {
    await Promise.all(slots.map(sync));
  };
  const onChange = () => {
    syncAll().catch(() => {
      // Logged per worker in sync(); the worker is being replaced and gets the current state at init.
    });
  };
  /** Forks the worker of `slot` and initialises it; rejects if it dies or fails before it listens. */
  const fork = (slot: Slot): Promise<WorkerHello> => {
    cluster.setupPrimary({ exec, execArgv, serialization: 'advanced', args: [] });
    const w = cluster.fork();
    const channel = new IpcChannel(
      w as unknown as IpcPort,
      { [METHOD.append]: append, [METHOD.spend]: spend },
      {
        onBadMessage: (err) => logger.error({ err, worker: slot.index }, 'bad message from a Check worker'),
      },
    );
    slot.worker = w;
    slot.channel = channel;
    slot.ready = false;
    slot.initialised = false;
    slot.startedAt = Date.now();
    // A failed send reaches the channel's callback; anything else the channel emits is logged, never thrown.
    w.on('error', (err) => logger.warn({ err, worker: slot.index }, 'Check worker channel error'));
    w.once('exit', (code, signal) => {
      channel.close(`worker ${slot.index} exited`);
      if (slot.worker !== w) return;
      const wasReady = slot.ready;
      slot.worker = undefined;
      slot.channel = undefined;
      slot.ready = false;
      slot.initialised = false;
      countLive();
      if (closing) return;
      if (Date.now() - slot.startedAt > 10_000) slot.crashes = 0;
      const delay = Math.min(maxBackoff, minBackoff * 2 ** slot.crashes);
      slot.crashes++;
      restarts.inc();
      logger.error(
        { worker: slot.index, pid: w.process.pid, code, signal, was_serving: wasReady, refork_in_ms: delay },
        'a Check worker died: its in-flight Checks failed closed; re-forking it',
      );
      setTimeout(() => {
        if (closing || slot.worker) return;
        fork(slot).catch((err) =>
          logger.error({ err, worker: slot.index }, 'a re-forked Check worker failed to start'),
        );
      }, delay).unref();
    });
    const trust = o.trust.snapshot();
    const active = o.policy?.active();
    const init: WorkerInit = {
      config: o.config,
      slot: slot.index,
      listen,
      drainMs: o.drainMs,
      trust,
      ...(o.policy
        ? { policy: { options: o.policy.options, bundle: active ? bundleMessage(active) : undefined } }
        : {}),
      replay: replay !== undefined,
      origin: o.records.log.origin,
    };
    const start = async (): Promise<WorkerHello> => {
      slot.pid = (await channel.call(METHOD.init, init, START_TIMEOUT_MS)) as number;
      slot.trustVersion = trust.version;
      slot.policySha = active?.sha256;
      slot.syncing = Promise.resolve();
      slot.initialised = true;
      // A change made while it started (after the init snapshot) is applied before it takes any Check; later
      // ones queue behind this one (docs/workers.md §1).
      await sync(slot);
      const h = (await channel.call(METHOD.listen, undefined, START_TIMEOUT_MS)) as WorkerHello;
      slot.ready = true;
      countLive();
      logger.info({ worker: slot.index, pid: h.pid, authz: h.address }, 'Check worker serving');
      return h;
    };
    return start().catch((err) => {
      w.kill('SIGKILL');
      // A bind failure in the worker is the address's, as in one process: CONFIG_LISTEN_FAILED at start-up.
      if (err instanceof WorkersError && err.remoteCode === 'LISTEN_FAILED')
        throw ListenError.from(o.config.authz.listen, 'grpc', new Error(err.message, { cause: err }));
      throw err;
    });
  };

  let first: WorkerHello;
  try {
    first = await fork(slots[0]!);
    // Port 0 picked a port: every later worker (and a re-forked one) listens on that same one.
    if (!listen.startsWith('unix:')) listen = first.address;
    await Promise.all(slots.slice(1).map(fork));
  } catch (e) {
    closing = true;
    for (const s of slots) s.worker?.kill('SIGKILL');
    throw e;
  }

  // docs/workers.md §2–3: every trust change and every policy activation goes out to every worker.
  const unsubscribe = [o.trust.subscribe(onChange), ...(o.policy ? [o.policy.onActivate(syncAll)] : [])];

  let closed: Promise<void> | undefined;
  return {
    address: first.address,
    port: first.port,
    list: () => slots.filter((s) => s.ready).map((s) => ({ slot: s.index, pid: s.pid })),
    inForce: syncAll,
    async metrics() {
      const answers = await Promise.allSettled(
        slots.filter((s) => s.ready).map((s) => s.channel!.call(METHOD.metrics, undefined, 1000)),
      );
      return answers.flatMap((a) =>
        a.status === 'fulfilled' ? [a.value as MetricObjectWithValues<MetricValue<string>>[]] : [],
      );
    },
    close() {
      closed ??= (async () => {
        closing = true;
        for (const u of unsubscribe) u();
        await Promise.all(
          slots.map(async (s) => {
            const w = s.worker;
            if (!w) return;
            const exited = new Promise<void>((r) => w.once('exit', () => r()));
            try {
              // Their Checks' appends still flow over the channel while they drain.
              await s.channel?.call(METHOD.drain, undefined, o.drainMs + 5000);
            } catch (err) {
              logger.warn({ err, worker: s.index }, 'a Check worker did not drain in time');
            }
            if (w.isConnected()) w.disconnect();
            const t = setTimeout(() => w.kill('SIGKILL'), 5000);
            await exited;
            clearTimeout(t);
          }),
        );
        countLive();
      })();
      return closed;
    },
  };
}
