/**
 * Worker thread body for `sigil.policy.isolation: worker` (docs/policy.md §7): loads the bundle once, then evaluates
 * each request posted by the main thread and hands the result back through a SharedArrayBuffer + Atomics.notify,
 * so the main thread can wait with a deadline and terminate this thread when the policy overruns it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { describeThrown, loadBundle } from '../load-bundle.js';
import { HEADER_BYTES, type WorkerData, type WorkerJob, WorkerState } from './worker-evaluator.js';

const data = workerData as WorkerData;
const state = new Int32Array(data.sab, 0, 2);
const out = new Uint8Array(data.sab, HEADER_BYTES);

function finish(code: WorkerState, text: string): void {
  let bytes = Buffer.from(text, 'utf8');
  if (bytes.length > out.length) {
    bytes = Buffer.from(
      `policy result of ${bytes.length} bytes exceeds the ${out.length}-byte transfer buffer`,
    );
    code = WorkerState.Error;
  }
  out.set(bytes);
  Atomics.store(state, 1, bytes.length);
  Atomics.store(state, 0, code);
  Atomics.notify(state, 0);
}

const bundle = await loadBundle(new Uint8Array(data.bundle), data);

parentPort!.on('message', (job: WorkerJob) => {
  try {
    const input = Buffer.from(job.input, 'utf8');
    const prints: string[] = [];
    // An ArrayBuffer is ready JSON text: no parse/stringify round trip in this thread.
    const text = bundle.evaluateText(
      input.buffer.slice(input.byteOffset, input.byteOffset + input.length),
      BigInt(job.nowNs),
      prints,
    );
    // The print lines as one JSON line, then the result set's own text (its number literals matter).
    finish(WorkerState.Done, `${JSON.stringify(prints)}\n${text}`);
  } catch (e) {
    finish(WorkerState.Error, describeThrown(e));
  }
});
parentPort!.postMessage('ready');
