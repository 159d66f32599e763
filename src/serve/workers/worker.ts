/**
 * A Check worker process (docs/authz.md §12): the gRPC ext_authz server on the shared `sigil.authz.listen`
 * handle (node:cluster), and the pipeline decode → chain cache → scope → proof → policy → encode, deciding with
 * the primary's trust, policy bundle and replay cache (docs/workers.md). Every decision goes to the primary for
 * the durable append over the batched IPC channel; the answer waits for the primary's receipt exactly as the
 * single-process path waits for its own commit, so no allow leaves a worker unrecorded. Without the primary
 * (disconnect) a worker exits at once: never serve without the one sequencer.
 */
import { pino } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { createMetrics } from '../../admin/index.js';
import {
  type AuthzServer,
  type DecisionSink,
  remoteReplayCache,
  type SpendResult,
  startAuthzServer,
} from '../../authz/index.js';
import { type PolicyReplicaHandle, startReplicaDecider } from '../../policy/index.js';
import { MirrorTrustStore } from '../../token/index.js';
import { checkFromConfig, listenerOptions } from '../check-from-config.js';
import { observeDecisions } from '../observe-decisions.js';
import { tuneRuntime } from '../tune-runtime.js';
import { WorkersError } from './errors.js';
import { IpcChannel, type IpcPort } from './ipc.js';
import {
  METHOD,
  type PolicyBundleMessage,
  type SpendRequest,
  type WorkerHello,
  type WorkerInit,
} from './protocol.js';
import { RecordBatcher } from './record-batch.js';

/** Longest wait for the primary's answer to a proof jti spend; then the proof is denied (fail closed). */
export const SPEND_TIMEOUT_MS = 1000;

function bundleOf(p: unknown): PolicyBundleMessage {
  const b = p as PolicyBundleMessage;
  if (
    typeof b !== 'object' ||
    b === null ||
    !(b.bytes instanceof Uint8Array) ||
    typeof b.revision !== 'string'
  )
    throw new WorkersError('WORKERS_BAD_MESSAGE', 'malformed policy bundle message');
  return b;
}

/** The IPC port of a cluster worker (`process`), as {@link runCheckWorker} needs it. */
export type WorkerPort = IpcPort & { once(e: 'disconnect', l: () => void): unknown };

/** Runs this process as a Check worker until the primary disconnects it. */
export function runCheckWorker(port: WorkerPort = process as unknown as WorkerPort): void {
  let mirror: MirrorTrustStore | undefined;
  let policy: PolicyReplicaHandle | undefined;
  let server: AuthzServer | undefined;
  let listen: (() => Promise<AuthzServer>) | undefined;
  let registry: Registry | undefined;
  let draining = false;
  let records: RecordBatcher | undefined;
  const sink: DecisionSink = {
    append: (record, origin) =>
      records
        ? records.append(record, origin.verified, origin.source)
        : Promise.reject(new WorkersError('WORKERS_BAD_MESSAGE', 'append before init')),
  };
  const spend = (jti: string, untilMs: number, nowMs: number) => {
    const req: SpendRequest = [jti, untilMs, nowMs];
    return channel.call(METHOD.spend, req) as Promise<SpendResult>;
  };
  const channel = new IpcChannel(port, {
    [METHOD.init]: async (p): Promise<number> => {
      const o = p as WorkerInit;
      if (mirror) throw new WorkersError('WORKERS_BAD_MESSAGE', 'init twice');
      tuneRuntime(o.config.runtime);
      // Trust first: a worker never runs without it (TBIT_TRUST_SNAPSHOT_INVALID refuses the init).
      mirror = new MirrorTrustStore(o.trust);
      records = new RecordBatcher((build) => channel.callAtFlush(METHOD.append, build), o.origin);
      const logger = pino({ level: o.config.log.level, base: { svc: 'sigil', worker: o.slot } });
      let cacheSize = () => 0;
      const metrics = createMetrics({ cacheSize: () => cacheSize() });
      if (o.policy) {
        policy = startReplicaDecider({ ...o.policy.options, logger, registry: metrics.registry });
        // The bundle in force in the primary before the first Check (POLICY_BUNDLE_INVALID refuses the init).
        if (o.policy.bundle) await policy.activate(o.policy.bundle.bytes, o.policy.bundle.revision);
      }
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
        ...(policy ? { policy } : {}),
        ...(o.replay ? { replay: remoteReplayCache(spend, SPEND_TIMEOUT_MS) } : {}),
        onDecision: (e) => {
          perWorker.inc();
          observe(e);
        },
      });
      cacheSize = () => chains.size;
      registry = metrics.registry;
      listen = () =>
        startAuthzServer({
          listen: o.listen,
          check,
          ...listenerOptions(o.config),
          drainMs: o.drainMs,
          removeStaleSocket: false,
        });
      return process.pid;
    },
    // Only once the primary brought this worker to its current state (docs/workers.md §1): then Checks come in.
    [METHOD.listen]: async (): Promise<WorkerHello> => {
      if (!listen || server) throw new WorkersError('WORKERS_BAD_MESSAGE', 'listen before init, or twice');
      server = await listen();
      return { pid: process.pid, address: server.address, port: server.port };
    },
    // docs/workers.md §2: validated and swapped atomically; a refusal keeps the state and reaches the primary.
    [METHOD.trust]: (s) => {
      if (!mirror) throw new WorkersError('WORKERS_BAD_MESSAGE', 'trust before init');
      mirror.apply(s);
      return mirror.version;
    },
    // docs/workers.md §3: a broken bundle or another revision is refused, the previous one stays in force.
    [METHOD.policy]: async (p) => {
      if (!policy) throw new WorkersError('WORKERS_BAD_MESSAGE', 'no policy configured in this worker');
      const b = bundleOf(p);
      await policy.activate(b.bytes, b.revision);
      return b.revision;
    },
    [METHOD.drain]: async () => {
      draining = true;
      await server?.close();
      await policy?.close();
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
