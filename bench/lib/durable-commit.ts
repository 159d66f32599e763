/**
 * How long one durable LMDB commit takes on this machine's disk, with no SIGIL code in the way: raw lmdb-js
 * puts of one decision-sized record, each awaited until its transaction is flushed (commit + fsync), started
 * at a fixed rate (open loop). Shared by `npm run bench:disk` and `npm run bench:e2e` (which runs it pinned
 * like the authorizer after each round, as the lower bound of what a durable decision can cost there).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { open } from 'lmdb';
import { type DecisionRecord, encodeRecord } from '../../src/ledger/index.js';

/** Latency percentiles of one probe, in ms. */
export interface LatencySummary {
  n: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  /** Samples above 5 ms. */
  over5: number;
}

/** Percentiles of `xs` (ms); nearest-rank on the sorted samples. */
export function summarizeLatency(xs: readonly number[]): LatencySummary {
  if (xs.length === 0) throw new Error('summarizeLatency: no samples');
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(s.length * p))] as number;
  return {
    n: s.length,
    p50: q(0.5),
    p99: q(0.99),
    p999: q(0.999),
    max: s[s.length - 1] as number,
    over5: s.filter((x) => x > 5).length,
  };
}

/** A decision record of the size SIGIL writes (one hop, ~680 B encoded). */
export function sampleDecision(i: number): DecisionRecord {
  const deny = i % 10 === 9;
  return {
    v: 1,
    id: `01JD3Q3W6N7V2K8M9P0R${String(i).padStart(6, '0')}`,
    ts: 1_767_225_600_000 + i,
    decision: deny ? 'deny' : 'allow',
    code: deny ? 'TBIT_SCOPE_VIOLATION' : 'OK',
    http_status: deny ? 403 : 200,
    sub: 'spiffe://sigil.mesh/agent/worker/i-1',
    task_id: `task-${i % 16}`,
    tool: 'fs.read',
    depth: 1,
    chain: [
      {
        sub: 'spiffe://sigil.mesh/agent/worker/i-1',
        iss: 'spiffe://sigil.mesh/sigil/issuer',
        jti: `j-${i}`,
        tool_scope: ['fs.*', 'web.search'],
        exp: 1_767_225_900,
      },
    ],
    method: 'GET',
    host: 'tools.internal',
    path: '/tools/fs.read',
    token_hash: 'q3Z0m8x2dW1sKzB7eN4pR6tY9uV0aC5fH2jL8oQ1iE4',
    policy_rev: 'sha256:1f2e3d4c',
  };
}

/**
 * Starts `op` `rate` times per second (open loop: a slow call never delays the next start) for `seconds`;
 * resolves with each call's latency in ms. Paced by 1 ms timers, not a busy loop, so the pacer does not
 * take the CPU the measured writer threads need when everything is pinned to one core.
 */
export async function openLoop(
  rate: number,
  seconds: number,
  op: (i: number) => Promise<unknown>,
): Promise<number[]> {
  const lat: number[] = [];
  const pending: Array<Promise<unknown>> = [];
  const total = Math.round(seconds * rate);
  let i = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(Math.floor(((performance.now() - t0) * rate) / 1000), total);
      while (i < due) {
        const a = performance.now();
        pending.push(op(i++).then(() => lat.push(performance.now() - a)));
      }
      if (i < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  await Promise.all(pending);
  return lat;
}

/** One durable-commit probe: latency percentiles and `cpuUs`, the probe process's CPU per commit (µs). */
export interface CommitProbe extends LatencySummary {
  cpuUs: number;
}

/**
 * Raw lmdb-js durable commits: `rate` puts per second for `seconds` into a fresh environment under `dir`,
 * each awaited until LMDB has flushed it. The environment is removed afterwards. `cpuUs`: this process's CPU
 * (all threads, user + system, the 1 ms pacer included) per commit over the loop: what one decision committed
 * alone costs at this rate.
 */
export async function probeDurableCommits(dir: string, rate: number, seconds: number): Promise<CommitProbe> {
  const root = mkdtempSync(join(dir, 'durable-commit-'));
  const value = Buffer.from(encodeRecord(sampleDecision(0)));
  const env = open({ path: join(root, 'raw.mdb'), noMemInit: true, separateFlushed: true }) as unknown as {
    openDB(
      n: string,
      o: object,
    ): { put(k: number, v: Uint8Array): Promise<boolean> & { flushed?: Promise<unknown> } };
    flushed: PromiseLike<unknown>;
    close(): Promise<void>;
  };
  try {
    const db = env.openDB('entries', { keyEncoding: 'uint32', encoding: 'binary' });
    // One warm-up write creates the tables, so the first measured commit is not a first commit.
    await db.put(0xffffffff, value);
    await env.flushed;
    const cpu0 = process.cpuUsage();
    const lat = await openLoop(rate, seconds, (i) => {
      const p = db.put(i, value);
      return p.flushed ?? p.then(() => env.flushed);
    });
    const cpu = process.cpuUsage(cpu0);
    return { ...summarizeLatency(lat), cpuUs: (cpu.user + cpu.system) / lat.length };
  } finally {
    await env.close();
    rmSync(root, { recursive: true, force: true });
  }
}
