/**
 * The primary's side of Check workers (docs/authz.md §12): forks N workers with node:cluster (all listening on
 * the one `sigil.authz.listen` handle the primary holds), answers their batched appends through the ledger sink
 * (the one sequencer), pushes trust changes to every worker, re-forks a dead worker with backoff, drains them on
 * close, and collects their metrics for /metrics.
 */
import cluster, { type Worker } from 'node:cluster';
import { rmSync } from 'node:fs';
import type { Logger } from 'pino';
import { Counter, Gauge, type MetricObjectWithValues, type MetricValue, type Registry } from 'prom-client';
import type { DecisionSink } from '../../authz/index.js';
import type { SigilConfig } from '../../config/index.js';
import { WorkersError } from './errors.js';
import { IpcChannel, type IpcPort } from './ipc.js';
import {
  type AppendAnswer,
  type AppendRequest,
  METHOD,
  type WorkerHello,
  type WorkerInit,
} from './protocol.js';
import type { TrustSnapshot } from './trust-mirror.js';

/** Options of {@link startWorkerPool}. */
export interface WorkerPoolOptions {
  config: SigilConfig;
  /** Number of workers, ≥ 2. */
  count: number;
  /** The ledger intake every worker's decisions go through (src/serve/audit-intake.ts). */
  sink: DecisionSink;
  /** The trust workers decide with, now; and its version (read often: must be cheap). */
  trust: { snapshot(): TrustSnapshot; version(): number };
  logger: Logger;
  /** Where `sigil_authz_workers` and `sigil_authz_worker_restarts_total` go. */
  registry: Registry;
  /** In-flight Checks' drain time per worker on close, ms. */
  drainMs: number;
  /** First re-fork delay after a crash, ms (default 100); doubles per crash up to `maxBackoffMs` (default 5000). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** How often the primary compares the trust version with what workers hold, ms (default 100). */
  trustPollMs?: number;
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
  trustVersion: number;
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

/** Validates one append request from a worker (a worker is ours, but a bug must fail closed, not throw late). */
function appendArgs(p: unknown): AppendRequest {
  const a = p as AppendRequest;
  if (!Array.isArray(a) || typeof a[0] !== 'object' || a[0] === null || typeof a[1] !== 'boolean')
    throw new WorkersError('WORKERS_BAD_MESSAGE', 'malformed append request');
  return a;
}

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
    crashes: 0,
    startedAt: 0,
    trustVersion: -1,
  }));
  const countLive = () => live.set(slots.filter((s) => s.ready).length);

  const append = async (p: unknown): Promise<AppendAnswer> => {
    const [record, verified, source] = appendArgs(p);
    return (await o.sink.append(record, { verified, source })) ?? null;
  };

  /** Forks the worker of `slot` and initialises it; rejects if it dies or fails before it listens. */
  const fork = (slot: Slot): Promise<WorkerHello> => {
    cluster.setupPrimary({ exec, execArgv, serialization: 'advanced', args: [] });
    const w = cluster.fork();
    const channel = new IpcChannel(
      w as unknown as IpcPort,
      { [METHOD.append]: append },
      {
        onBadMessage: (err) => logger.error({ err, worker: slot.index }, 'bad message from a Check worker'),
      },
    );
    slot.worker = w;
    slot.channel = channel;
    slot.ready = false;
    slot.startedAt = Date.now();
    w.once('exit', (code, signal) => {
      channel.close(`worker ${slot.index} exited`);
      if (slot.worker !== w) return;
      const wasReady = slot.ready;
      slot.worker = undefined;
      slot.channel = undefined;
      slot.ready = false;
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
    const init: WorkerInit = { config: o.config, slot: slot.index, listen, trust, drainMs: o.drainMs };
    return channel.call(METHOD.init, init).then(
      (hello) => {
        const h = hello as WorkerHello;
        slot.pid = h.pid;
        slot.trustVersion = trust.version;
        slot.ready = true;
        countLive();
        logger.info({ worker: slot.index, pid: h.pid, authz: h.address }, 'Check worker serving');
        return h;
      },
      (err) => {
        w.kill('SIGKILL');
        throw err;
      },
    );
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

  // Trust changes (a revocation, a key rotation) reach every worker within one poll; a worker that missed one
  // (busy, just re-forked) gets the next snapshot.
  let pushing = false;
  const trustTimer = setInterval(() => {
    if (pushing) return;
    const v = o.trust.version();
    const stale = slots.filter((s) => s.ready && s.trustVersion !== v);
    if (stale.length === 0) return;
    pushing = true;
    const snap = o.trust.snapshot();
    Promise.allSettled(
      stale.map((s) =>
        s.channel?.call(METHOD.trust, snap, 5000).then(() => {
          s.trustVersion = snap.version;
        }),
      ),
    ).finally(() => {
      pushing = false;
    });
  }, o.trustPollMs ?? 100);
  trustTimer.unref();

  let closed: Promise<void> | undefined;
  return {
    address: first.address,
    port: first.port,
    list: () => slots.filter((s) => s.ready).map((s) => ({ slot: s.index, pid: s.pid })),
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
        clearInterval(trustTimer);
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
