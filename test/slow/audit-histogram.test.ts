/**
 * Slow (`npm run test:slow`): the audit histogram over a 1,000,000-entry LMDB log, answered by the admin API from
 * the ledger's indexes in ≤ 200 ms (issue #24), with counts equal to what was written; and a range of 1000 entries
 * proved in one `GET /api/proofs` and verified with the dashboard's own code (dashboard/src/verify.ts). Prints the
 * figures BENCHMARKS.md § Dashboard quotes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyRange } from '../../dashboard/src/verify.js';
import { type AdminApiHandler, createAdminApi } from '../../src/admin/index.js';
import { type AdminServer, startAdminServer } from '../../src/admin/server.js';
import { type DecisionRecord, MerkleLog } from '../../src/ledger/index.js';

const N = 1_000_000;
const T0 = Date.UTC(2026, 11, 1);
/** 7 ms apart: the log spans ~2 hours, ~143 entries per second. */
const tsOf = (i: number) => T0 + i * 7;
const TOKEN = 'slow-histogram-admin-token-0123';
let dir: string;
let log: MerkleLog;
let api: AdminApiHandler;
let server: AdminServer;

const rec = (i: number): DecisionRecord => ({
  v: 1,
  id: `d-${i}`,
  ts: tsOf(i),
  decision: i % 3 === 0 ? 'deny' : 'allow',
  code: i % 3 === 0 ? 'POLICY_DENIED' : 'OK',
  http_status: i % 3 === 0 ? 403 : 200,
  sub: `spiffe://sigil.mesh/agent/w/${i % 200}`,
  task_id: `task-${i % 15}`,
  tool: 'fs.read',
});

const get = async (path: string) => {
  const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  return res.json() as Promise<Record<string, unknown>>;
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sigil-slow-histogram-'));
  log = await MerkleLog.open(dir, { durability: 'fast' });
  for (let done = 0; done < N; done += 10_000) {
    const batch: Promise<unknown>[] = [];
    for (let i = done; i < done + 10_000; i++) batch.push(log.appendDecision(rec(i)));
    await Promise.all(batch);
  }
  api = createAdminApi({ adminToken: TOKEN, ledger: log, dashboardDir: null });
  server = await startAdminServer({ listen: '127.0.0.1:0', registry: new Registry(), isReady: () => true });
  server.mount(api);
}, 600_000);

afterAll(async () => {
  api?.close();
  await server?.close();
  await log?.close();
  rmSync(dir, { recursive: true, force: true });
});

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

describe('1M-entry log', () => {
  it('answers the whole-range histogram in ≤ 200 ms with exact counts', async () => {
    const until = tsOf(N - 1);
    const q = `/api/decisions/histogram?since=${T0}&until=${until}&buckets=100`;
    let t = performance.now();
    const cold = (await get(q)) as {
      total: { allow: number; deny: number };
      took_ms: number;
      complete: boolean;
    };
    const coldMs = performance.now() - t;
    const deny = Math.ceil(N / 3);
    expect(cold.total).toEqual({ allow: N - deny, deny, other: 0 });
    expect(cold.complete).toBe(true);
    const round: number[] = [];
    const server: number[] = [];
    // 15 calls; the figure is the median of the last 7 (after the JIT and the GC of the 1M appends settle).
    for (let k = 0; k < 15; k++) {
      t = performance.now();
      const h = (await get(q)) as { total: { allow: number }; took_ms: number };
      round.push(performance.now() - t);
      server.push(h.took_ms);
      expect(h.total.allow).toBe(N - deny);
    }
    // A filtered one: one task of 15, denies only.
    t = performance.now();
    const f = (await get(`${q}&task=task-4&decision=deny`)) as { total: { deny: number } };
    const filteredMs = performance.now() - t;
    let want = 0;
    for (let i = 0; i < N; i++) if (i % 15 === 4 && i % 3 === 0) want++;
    expect(f.total.deny).toBe(want);
    // One hour in the middle, partly covered seconds at both ends.
    const since = T0 + 1_800_123;
    const h1 = (await get(
      `/api/decisions/histogram?since=${since}&until=${since + 3_600_000}&buckets=60`,
    )) as {
      total: { allow: number; deny: number };
    };
    let a = 0;
    for (let i = 0; i < N; i++) if (tsOf(i) >= since && tsOf(i) <= since + 3_600_000) a++;
    expect(h1.total.allow + h1.total.deny).toBe(a);
    process.stdout.write(
      `histogram 1M entries: cold ${coldMs.toFixed(0)} ms (server ${cold.took_ms} ms); warm round trips ${round.map((x) => x.toFixed(0)).join(' ')} ms, median of the last 7 ${median(round.slice(-7)).toFixed(1)} ms (server ${median(server.slice(-7))} ms); task+deny filter ${filteredMs.toFixed(1)} ms\n`,
    );
    expect(median(round.slice(-7))).toBeLessThanOrEqual(200);
  }, 120_000);

  it('proves and verifies a range of 1000 entries in one go', async () => {
    const indices = Array.from({ length: 1000 }, (_, k) => 500_000 + k);
    let t = performance.now();
    const answer = (await get(`/api/proofs?indices=${indices.join(',')}`)) as unknown as Parameters<
      typeof verifyRange
    >[0];
    const fetchMs = performance.now() - t;
    const shown = new Map(indices.map((i) => [i, log.decision(i)]));
    t = performance.now();
    const v = verifyRange(answer, shown, log.checkpoints.verifierKey);
    const verifyMs = performance.now() - t;
    expect(v.ok).toBe(true);
    expect(v.checked).toBe(1000);
    process.stdout.write(
      `range verify 1000 entries of 1M: proofs ${fetchMs.toFixed(0)} ms, verify ${verifyMs.toFixed(0)} ms\n`,
    );
  }, 120_000);
});
