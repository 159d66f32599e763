/**
 * A Check worker process (docs/authz.md §12): the gRPC ext_authz server on the shared `sigil.authz.listen`
 * handle (node:cluster), and the pipeline decode → chain cache → scope → policy → encode. Every decision goes to
 * the primary for the durable append over the batched IPC channel; the answer waits for the primary's receipt
 * exactly as the single-process path waits for its own commit, so no allow leaves a worker unrecorded. Without
 * the primary (disconnect) a worker exits at once: never serve without the one sequencer.
 */
import { pino } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { createMetrics } from '../../admin/index.js';
import {
  type AuthzServer,
  type DecisionReceipt,
  type DecisionSink,
  startAuthzServer,
} from '../../authz/index.js';
import { checkFromConfig, maxCheckMessageBytes } from '../check-from-config.js';
import { observeDecisions } from '../observe-decisions.js';
import { tuneRuntime } from '../tune-runtime.js';
import { WorkersError } from './errors.js';
import { IpcChannel, type IpcPort } from './ipc.js';
import { type AppendRequest, METHOD, type WorkerHello, type WorkerInit } from './protocol.js';
import { MirrorTrustStore, type TrustSnapshot } from './trust-mirror.js';

/** A worker closes a connection after ~this long (GOAWAY), so a re-forked worker gets its share again. */
export const WORKER_MAX_CONNECTION_AGE_MS = 30_000;

/** The primary's answer to an append, checked: a receipt, or undefined (aggregated unauthenticated deny). */
function receiptOf(v: unknown): DecisionReceipt | undefined {
  if (v === null) return undefined;
  const r = v as DecisionReceipt;
  if (typeof r === 'object' && typeof r.index === 'number' && typeof r.receipt === 'string') return r;
  throw new WorkersError('WORKERS_BAD_MESSAGE', 'malformed append answer');
}

/** Runs this process as a Check worker until the primary disconnects it. */
export function runCheckWorker(
  port: IpcPort & { once(e: 'disconnect', l: () => void): unknown } = process as never,
): void {
  const mirror = new MirrorTrustStore();
  let server: AuthzServer | undefined;
  let registry: Registry | undefined;
  let draining = false;
  const sink: DecisionSink = {
    append: async (record, origin) => {
      const req: AppendRequest = [record, origin.verified, origin.source];
      return receiptOf(await channel.call(METHOD.append, req));
    },
  };
  const channel = new IpcChannel(port, {
    [METHOD.init]: async (p): Promise<WorkerHello> => {
      const o = p as WorkerInit;
      if (server) throw new WorkersError('WORKERS_BAD_MESSAGE', 'init twice');
      tuneRuntime(o.config.runtime);
      mirror.apply(o.trust);
      const logger = pino({ level: o.config.log.level, base: { svc: 'sigil', worker: o.slot } });
      let cacheSize = () => 0;
      const metrics = createMetrics({ cacheSize: () => cacheSize() });
      const perWorker = new Counter({
        name: 'sigil_authz_worker_checks_total',
        help: 'Checks answered, per Check worker slot (how node:cluster spread the connections).',
        labelNames: ['worker'] as const,
        registers: [metrics.registry],
      }).labels(String(o.slot));
      const observe = observeDecisions(metrics, logger);
      const { check, chains } = checkFromConfig(o.config, {
        trust: mirror,
        ledger: sink,
        onDecision: (e) => {
          perWorker.inc();
          observe(e);
        },
      });
      cacheSize = () => chains.size;
      registry = metrics.registry;
      server = await startAuthzServer({
        listen: o.listen,
        check,
        maxMessageBytes: maxCheckMessageBytes(o.config),
        drainMs: o.drainMs,
        removeStaleSocket: false,
        maxConnectionAgeMs: WORKER_MAX_CONNECTION_AGE_MS,
      });
      return { pid: process.pid, address: server.address, port: server.port };
    },
    [METHOD.trust]: (s) => {
      mirror.apply(s as TrustSnapshot);
      return mirror.appliedVersion;
    },
    [METHOD.drain]: async () => {
      draining = true;
      await server?.close();
    },
    [METHOD.metrics]: () => registry?.getMetricsAsJSON() ?? [],
  });
  // The primary (or `sigil serve`'s signal handler) decides when to stop: a SIGTERM/SIGINT sent to the whole
  // process group must not cut the in-flight Checks short; the drain request does it in order.
  const ignore = () => {};
  process.on('SIGTERM', ignore);
  process.on('SIGINT', ignore);
  port.once('disconnect', () => {
    channel.close('the primary disconnected');
    // After a drain this is the orderly end; otherwise the sequencer is gone: stop serving now.
    process.exit(draining ? 0 : 1);
  });
}
