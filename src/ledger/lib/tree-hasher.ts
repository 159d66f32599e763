/**
 * Off-thread tree hashing (docs/ledger.md §3): a worker thread computes the RFC 6962 §2.1 leaf hashes of
 * a run of appended entries and the node hashes they complete on the right frontier, so the main thread
 * (which also serves Check requests) only copies bytes over and files hashes. Stateless: every job carries
 * the tree size and frontier it extends, so a reload after a failed commit needs no resynchronisation.
 */
import { Worker } from 'node:worker_threads';
import { cpuBudget } from '../../lib/cpu-budget.js';
import { HASH_LEN } from './hash.js';

/**
 * Whether a writable log hashes on the worker thread unless told otherwise: only when this process can
 * keep more than one CPU busy ({@link cpuBudget}: affinity mask capped by a cgroup CPU quota). On one CPU
 * the worker only takes turns with the main thread (measured slower: bench/NOTES.md "Ledger").
 */
export function hashThreadByDefault(cpus: number = cpuBudget()): boolean {
  return cpus > 1;
}

/**
 * The worker's whole program. Runs as an `eval` worker (CommonJS, own isolate), so the same code works
 * from the TypeScript sources (tests), `tsx` and `dist/`. It must not refer to anything outside itself.
 *
 * Job: `buf` = frontier hashes (largest subtree first) then, per entry, one spare byte (overwritten with
 * the 0x00 leaf prefix) and the entry bytes; `ends[i]` = end offset of entry i in `buf`.
 * Reply: for each entry in order, its leaf hash, then the node hash of each frontier merge it causes
 * (one per trailing 1-bit of its index) — the order the main thread files them in.
 */
function workerMain(): void {
  const { parentPort } = require('node:worker_threads') as typeof import('node:worker_threads');
  const { hash } = require('node:crypto') as typeof import('node:crypto');
  const H = 32;
  const pair = Buffer.allocUnsafe(1 + 2 * H);
  pair[0] = 1;
  parentPort?.on(
    'message',
    (job: { buf: ArrayBuffer; ends: Uint32Array; size: number; frontier: number }) => {
      const b = Buffer.from(job.buf);
      const stack: Buffer[] = [];
      for (let i = 0; i < job.frontier; i++) stack.push(b.subarray(i * H, (i + 1) * H));
      const n = job.ends.length;
      // n leaves cause fewer than n merges in total (each merge removes one of ≤ n + frontier subtrees).
      const out = Buffer.allocUnsafe((2 * n + job.frontier) * H);
      let o = 0;
      let start = job.frontier * H;
      for (let i = 0; i < n; i++) {
        const end = job.ends[i] as number;
        b[start] = 0;
        let cur = hash('sha256', b.subarray(start, end), 'buffer');
        start = end;
        cur.copy(out, o);
        o += H;
        let at = job.size + i;
        while (at % 2 === 1) {
          pair.set(stack.pop() as Buffer, 1);
          pair.set(cur, 1 + H);
          cur = hash('sha256', pair, 'buffer');
          cur.copy(out, o);
          o += H;
          at = (at - 1) / 2;
        }
        stack.push(cur);
      }
      const reply = out.buffer.slice(out.byteOffset, out.byteOffset + o);
      parentPort.postMessage(reply, [reply]);
    },
  );
}

/**
 * A worker thread that hashes runs of entries, one job at a time. Unref'd: it never keeps the process
 * alive. After a worker error or exit every pending and later `run` rejects, and the caller hashes on its
 * own thread instead (nothing is lost: it still holds the bytes).
 */
export class TreeHasher {
  private readonly worker: Worker;
  private pending: Array<{ resolve: (h: Buffer) => void; reject: (e: Error) => void }> = [];
  private failed: Error | undefined;

  constructor() {
    this.worker = new Worker(`(${workerMain.toString()})()`, { eval: true });
    this.worker.unref();
    this.worker.on('message', (reply: ArrayBuffer) => this.pending.shift()?.resolve(Buffer.from(reply)));
    this.worker.on('error', (e: Error) => this.fail(e));
    this.worker.on('exit', (code) => this.fail(new Error(`tree hasher exited (code ${code})`)));
  }

  /** Marks the worker failed and rejects every pending run. */
  private fail(e: Error): void {
    this.failed ??= e;
    for (const p of this.pending.splice(0)) p.reject(e);
  }

  /** False once the worker failed; the caller then hashes on its own thread. */
  get ok(): boolean {
    return this.failed === undefined;
  }

  /**
   * Hashes `values` as leaves `size`, `size + 1`, … of a tree whose right frontier is `frontier`
   * (largest subtree first). Resolves with the hashes in filing order (see {@link workerMain}).
   */
  run(size: number, frontier: readonly Uint8Array[], values: readonly Uint8Array[]): Promise<Buffer> {
    if (this.failed) return Promise.reject(this.failed);
    let bytes = frontier.length * HASH_LEN;
    for (const v of values) bytes += 1 + v.length;
    const buf = new ArrayBuffer(bytes);
    const u = new Uint8Array(buf);
    frontier.forEach((h, i) => {
      u.set(h, i * HASH_LEN);
    });
    const ends = new Uint32Array(values.length);
    let o = frontier.length * HASH_LEN;
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as Uint8Array;
      u.set(v, o + 1);
      o += 1 + v.length;
      ends[i] = o;
    }
    return new Promise<Buffer>((resolve, reject) => {
      try {
        this.worker.postMessage({ buf, ends, size, frontier: frontier.length }, [buf, ends.buffer]);
      } catch (e) {
        // Replies are matched to runs by order: a run that was not posted must not stay pending.
        this.fail(e instanceof Error ? e : new Error(String(e)));
        reject(this.failed);
        return;
      }
      this.pending.push({ resolve, reject });
    });
  }

  /** Stops the worker (pending runs reject). */
  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
