/**
 * Preemptible evaluation (`sigil.policy.isolation: worker`, docs/policy.md §7). opa-wasm evaluation is synchronous,
 * so inline it cannot be stopped; here it runs on a worker thread while the main thread blocks in `Atomics.wait`
 * for at most the budget. On overrun the worker is terminated (V8 interrupts Wasm loops) and a fresh one is started
 * in the background; until it is ready, decisions fail closed. Cost: one message + one wake-up per decision.
 */
import { Worker } from 'node:worker_threads';
import type { LoadBundleOptions, PolicyBundle } from '../load-bundle.js';
import { stringifyInput } from './exact-json.js';
import { parseResultSet } from './number-text.js';

/** Int32 slots at the start of the shared buffer: [state, result length]. */
export const HEADER_BYTES = 8;
/** Largest result JSON the shared buffer carries back, bytes. */
const RESULT_BYTES = 4 * 1024 * 1024;

/** Values of the state slot. */
export const WorkerState = { Pending: 0, Done: 1, Error: 2 } as const;
/** One of {@link WorkerState}'s values. */
export type WorkerState = (typeof WorkerState)[keyof typeof WorkerState];

/** Passed to eval-worker.ts as workerData: the bundle, its load options and the shared result buffer. */
export interface WorkerData extends LoadBundleOptions {
  bundle: Uint8Array;
  sab: SharedArrayBuffer;
}

/** One evaluation request: the input document as JSON text, time.now_ns() as a decimal. */
export interface WorkerJob {
  input: string;
  nowNs: string;
}

/** Outcome of one bounded evaluation. */
export type BoundedOutcome =
  | { kind: 'result'; resultSet: unknown; prints: string[] }
  | { kind: 'timeout' }
  | { kind: 'error'; message: string };

const SELF = import.meta.url;

/**
 * The worker script next to this module: `eval-worker.js` once built; under tsx/vitest the `.ts` source, started
 * through a tiny bootstrap that registers tsx's loader inside the worker (loader hooks do not cross threads).
 */
function workerTarget(): URL {
  if (!SELF.endsWith('.ts')) return new URL('./eval-worker.js', SELF);
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const target = new URL('./eval-worker.ts', SELF).href;
  const boot = `import { register } from ${JSON.stringify(tsxApi)};\nregister();\nawait import(${JSON.stringify(target)});\n`;
  return new URL(`data:text/javascript,${encodeURIComponent(boot)}`);
}

/** Starts a worker with `bundle` loaded with options `o`; resolves once it is ready to evaluate. */
export async function startWorkerEvaluator(
  bundle: Uint8Array,
  o: LoadBundleOptions,
): Promise<Required<Pick<PolicyBundle, 'evaluateBounded' | 'close'>>> {
  // A fresh shared buffer per worker: a terminated worker may still write once before it dies.
  let state: Int32Array<SharedArrayBuffer> = new Int32Array(new SharedArrayBuffer(8));
  let out: Uint8Array<SharedArrayBuffer> = new Uint8Array(new SharedArrayBuffer(0));
  let worker: Worker | undefined;
  let ready = false;
  let closed = false;
  let starting: Promise<void> | undefined;

  const spawn = (): Promise<void> => {
    const url = workerTarget();
    const sab = new SharedArrayBuffer(HEADER_BYTES + RESULT_BYTES);
    state = new Int32Array(sab, 0, 2);
    out = new Uint8Array(sab, HEADER_BYTES);
    const data: WorkerData = { ...o, bundle, sab };
    const w = new Worker(url, { workerData: data });
    w.unref();
    worker = w;
    ready = false;
    return new Promise<void>((resolve, reject) => {
      w.once('message', (m) => {
        if (m === 'ready' && worker === w) ready = true;
        resolve();
      });
      w.once('error', (e) => {
        if (worker === w) ready = false;
        reject(e);
      });
      w.once('exit', () => {
        if (worker === w) ready = false;
        resolve();
      });
    });
  };

  const restart = () => {
    const old = worker;
    worker = undefined;
    ready = false;
    void old?.terminate();
    if (!closed) starting = spawn().catch(() => undefined);
  };

  await spawn();
  if (!ready) throw new Error('policy worker failed to start');

  return {
    evaluateBounded(input: unknown, nowNs: bigint, timeoutMs: number): BoundedOutcome {
      if (!ready || !worker)
        return { kind: 'error', message: 'policy worker is restarting after an overrun' };
      Atomics.store(state, 0, WorkerState.Pending);
      const job: WorkerJob = { input: stringifyInput(input), nowNs: nowNs.toString() };
      worker.postMessage(job);
      // Blocks the event loop for at most timeoutMs; "not-equal" means the worker already answered.
      const r = Atomics.wait(state, 0, WorkerState.Pending, timeoutMs);
      const s = Atomics.load(state, 0);
      if (r === 'timed-out' && s === WorkerState.Pending) {
        restart();
        return { kind: 'timeout' };
      }
      const text = Buffer.from(out.subarray(0, Atomics.load(state, 1))).toString('utf8');
      if (s === WorkerState.Error) return { kind: 'error', message: text };
      const nl = text.indexOf('\n');
      return {
        kind: 'result',
        resultSet: parseResultSet(text.slice(nl + 1)),
        prints: JSON.parse(text.slice(0, nl)) as string[],
      };
    },
    async close() {
      closed = true;
      await starting;
      await worker?.terminate();
      worker = undefined;
    },
  };
}
