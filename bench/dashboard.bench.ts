/**
 * `npm run bench:dashboard`: what the dashboard API costs the sidecar's event loop (the one Check runs on).
 * Real LMDB ledger with 20 000 decision records (3-hop chains). Prints:
 *  - graph window (5 000 newest decisions): cold read, incremental read after 100 appends, unchanged read, and the
 *    longest event-loop stall seen during the cold read (sampled by a 1 ms timer);
 *  - the peer in the same run: reading the same 5 000 records in one synchronous loop (what a naive handler would do);
 *  - buildGraph on the window; /api/decisions first page (200); one proof answer (entry + path + checkpoint).
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildGraph } from '../src/admin/api/lib/graph.js';
import { adminLedger } from '../src/admin/api/lib/ledger.js';
import { RecentDecisions } from '../src/admin/api/lib/recent.js';
import { MerkleLog } from '../src/ledger/index.js';
import type { DecisionRecord } from '../src/ledger/record.js';

const N = 20_000;
const rec = (i: number): DecisionRecord => ({
  v: 1,
  id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  ts: 1_795_000_000_000 + i,
  decision: i % 5 ? 'allow' : 'deny',
  code: i % 5 ? 'OK' : 'AUTHZ_TOOL_NOT_IN_SCOPE',
  http_status: i % 5 ? 200 : 403,
  sub: `spiffe://sigil.mesh/agent/a${i % 50}/1`,
  task_id: `task-${i % 10}`,
  tool: 'fs.read',
  depth: 3,
  chain: [0, 1, 2].map((d) => ({
    sub: `spiffe://sigil.mesh/agent/a${(i + d) % 50}/1`,
    iss: d === 0 ? 'spiffe://sigil.mesh/sigil/issuer' : `spiffe://sigil.mesh/agent/a${(i + d - 1) % 50}/1`,
    jti: `j${i}-${d}`,
    tool_scope: ['fs.read', 'fs.write'],
    exp: 1_795_000_300,
  })),
  method: 'POST',
  host: 'agent.local',
  path: '/tools/fs.read',
  token_hash: 'x'.repeat(43),
  policy_rev: 'rev-1',
});

function stallMeter(): { stop(): number } {
  let worst = 0;
  let last = performance.now();
  const t = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 1);
  return {
    stop() {
      clearInterval(t);
      return worst;
    },
  };
}

const ms = (a: number, b: number) => `${(b - a).toFixed(1)} ms`;

const dir = mkdtempSync(join(tmpdir(), 'sigil-bench-dash-'));
const log = await MerkleLog.open(dir, { durability: 'fast', origin: 'sigil.mesh/sigil/audit' });
try {
  for (let i = 0; i < N; i += 1000) {
    await Promise.all(Array.from({ length: 1000 }, (_, j) => log.appendDecision(rec(i + j))));
  }
  await log.checkpoints.make();
  const ledger = adminLedger(log);
  console.log(
    `machine: nproc=${cpus().length} cpu="${cpus()[0]?.model}" node=${process.version}; ledger ${N} decisions`,
  );

  // Peer: one synchronous read of the newest 5 000 (what re-reading per request would cost).
  let m = stallMeter();
  let t0 = performance.now();
  const naive = [];
  for (let i = log.size - 1; i >= log.size - 5000; i--) naive.push({ index: i, record: log.decision(i) });
  let t1 = performance.now();
  await new Promise((r) => setTimeout(r, 5));
  console.log(
    `naive sync read of 5000          ${ms(t0, t1)} (event loop blocked for all of it; stall ${m.stop().toFixed(1)} ms)`,
  );

  const recent = new RecentDecisions(ledger, 5000);
  m = stallMeter();
  t0 = performance.now();
  let win = await recent.get();
  t1 = performance.now();
  console.log(
    `graph window cold read (sliced)  ${ms(t0, t1)} total, longest event-loop stall ${m.stop().toFixed(1)} ms, ${win.length} entries`,
  );
  await Promise.all(Array.from({ length: 100 }, (_, j) => log.appendDecision(rec(N + j))));
  t0 = performance.now();
  win = await recent.get();
  t1 = performance.now();
  console.log(`graph window after 100 appends   ${ms(t0, t1)}`);
  t0 = performance.now();
  await recent.get();
  t1 = performance.now();
  console.log(`graph window unchanged           ${ms(t0, t1)}`);
  const runs: number[] = [];
  let g = buildGraph(win);
  for (let r = 0; r < 5; r++) {
    t0 = performance.now();
    g = buildGraph(win);
    runs.push(performance.now() - t0);
  }
  console.log(
    `buildGraph(5000)                 first ${runs[0]!.toFixed(1)} ms, best of 5 ${Math.min(...runs).toFixed(1)} ms → ${g.nodes.length} nodes, ${g.edges.length} edges, ${JSON.stringify(g).length} bytes`,
  );
  t0 = performance.now();
  await ledger.query({ limit: 200 });
  t1 = performance.now();
  console.log(`/api/decisions first page (200)  ${ms(t0, t1)}`);
  t0 = performance.now();
  const p = await ledger.proof(12_345);
  t1 = performance.now();
  console.log(
    `/api/proof data (entry+path+cp)  ${ms(t0, t1)} (${p.proof.length} hashes, entry ${p.entry.length} base64 chars)`,
  );
} finally {
  await log.close();
  rmSync(dir, { recursive: true, force: true });
}
