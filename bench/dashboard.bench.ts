/**
 * `npm run bench:dashboard`: what the dashboard API costs the sidecar's event loop (the one Check runs on).
 * Real LMDB ledger with 20 000 decision records (3-hop chains). Prints:
 *  - graph window (5 000 newest decisions): cold read, incremental read after 100 appends, unchanged read, and the
 *    longest event-loop stall seen during the cold read (sampled by a 1 ms timer);
 *  - the peer in the same run: reading the same 5 000 records in one synchronous loop (what a naive handler would do);
 *  - buildGraph on the window; /api/decisions first page (200); one proof answer (entry + path + checkpoint).
 * Then the graph in Debian's Chromium (playwright-core) against the generated mesh of test/dashboard/support/mesh.ts
 * (200 agents, 15 tasks, 50 000 decisions in a real LMDB ledger behind the real admin API):
 *  - first contentful paint and graph on screen (from navigation); fit time; full layout of 215 nodes (in the page
 *    and in Node); selection latency (10 clicks); during 30 s of 400 decisions/s: the longest main-thread task
 *    (PerformanceObserver 'longtask' wall time, and its CPU time from a Chromium trace), slow frames (≥ 33 ms, a
 *    frame dropped) and how many refetches the decisions were batched into; redraw requests of a zoom burst
 *    merged into one frame.
 * `--no-browser` skips the browser part; `--live-seconds N` shortens the live run.
 */

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { GridLayout } from '../dashboard/src/graph/layout.js';
import { viewGraph } from '../dashboard/src/graph/model.js';
import { buildGraph } from '../src/admin/api/lib/graph.js';
import { adminLedger } from '../src/admin/api/lib/ledger.js';
import { RecentDecisions } from '../src/admin/api/lib/recent.js';
import { MerkleLog } from '../src/ledger/index.js';
import type { DecisionRecord } from '../src/ledger/record.js';
import { launchBrowser } from '../test/dashboard/support/browser.js';
import { buildDashboard } from '../test/dashboard/support/build.js';
import {
  installProbe,
  labelOverlaps,
  nodesOutside,
  selectLatency,
  startRecording,
  startTrace,
  stopRecording,
} from '../test/dashboard/support/graph-probe.js';
import { startLiveLoad, startMeshServer } from '../test/dashboard/support/mesh.js';

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

if (!process.argv.includes('--no-browser')) await browserBench();

/** The graph in Chromium against the generated mesh. */
async function browserBench(): Promise<void> {
  const liveArg = process.argv.indexOf('--live-seconds');
  const liveSeconds = liveArg > 0 ? Number(process.argv[liveArg + 1]) : 30;
  console.log(
    `\nbrowser: Chromium ${'/usr/bin/chromium'}, mesh 200 agents / 15 tasks / 50 000 decisions, live ${liveSeconds} s at 400/s`,
  );
  await buildDashboard();
  const mesh = await startMeshServer({ entries: 50_000, dashboardDir: 'dist/dashboard' });
  const browser = await launchBrowser();
  try {
    const page = await browser.context.newPage();
    await installProbe(page);
    const graphFetches: number[] = [];
    let firstGraphMs: number | undefined;
    page.on('requestfinished', (r) => {
      if (!r.url().includes('/api/graph')) return;
      graphFetches.push(Date.now());
      firstGraphMs ??= r.timing().responseEnd;
    });
    // When the first graph node enters the DOM (page script: a string, the Node tsconfig has no DOM types).
    await page.addInitScript(`
      const mo = new MutationObserver(() => {
        if (globalThis.__graphAt === undefined && document.querySelector('svg.graph g.node')) {
          globalThis.__graphAt = performance.now();
          mo.disconnect();
        }
      });
      mo.observe(document, { childList: true, subtree: true });
    `);
    await page.goto(`${mesh.url}/#token=${mesh.adminToken}`);
    await page.locator('svg.graph g.node').first().waitFor({ timeout: 60_000 });
    await page.waitForTimeout(500);
    const paint = (await page.evaluate(`({
      fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null,
      graph: globalThis.__graphAt ?? null,
    })`)) as { fcp: number | null; graph: number | null };
    console.log(`first contentful paint              ${paint.fcp?.toFixed(0)} ms after navigation`);
    console.log(
      `graph on screen (login + /api/graph) ${paint.graph?.toFixed(0)} ms after navigation; first /api/graph (cold window of 5,000) ${firstGraphMs?.toFixed(0)} ms`,
    );
    const inView = await nodesOutside(page);
    const labels = await labelOverlaps(page);
    console.log(
      `after fit: ${inView.total - inView.outside.length}/${inView.total} nodes inside the view, ${labels.visible} labels shown, ${labels.pairs.length} overlapping pairs`,
    );

    const fitMs: number[] = [];
    for (let i = 0; i < 5; i++) {
      await page.mouse.wheel(0, -200);
      await page.waitForTimeout(100);
      fitMs.push(
        (await page.evaluate(`(async () => {
          const b = [...document.querySelectorAll('button')].find((x) => x.textContent === 'Fit to view');
          const t0 = performance.now();
          b.click();
          await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
          return performance.now() - t0;
        })()`)) as number,
      );
    }
    console.log(
      `fit to view (click → painted)       median ${median(fitMs).toFixed(1)} ms, max ${Math.max(...fitMs).toFixed(1)} ms (5 runs)`,
    );

    // Full layout of all 215 nodes: ungrouped, then "Tidy up" (a reset) measured by the canvas.
    await page.getByLabel('Group same-type workers').uncheck();
    await page.locator('svg.graph g.node').nth(214).waitFor();
    const tidy: number[] = [];
    for (let i = 0; i < 5; i++) {
      await page.getByRole('button', { name: 'Tidy up' }).click();
      await page.waitForTimeout(150);
      tidy.push(Number(await page.locator('svg.graph').getAttribute('data-layout-ms')));
    }
    const renderMs = Number(await page.locator('svg.graph').getAttribute('data-render-ms'));
    const inView2 = await nodesOutside(page);
    const labels2 = await labelOverlaps(page);
    console.log(
      `layout 215 nodes in the page          median ${median(tidy).toFixed(2)} ms (5 resets); layout + D3 diff + draw ${renderMs.toFixed(1)} ms`,
    );
    console.log(
      `  ungrouped after fit: ${inView2.total - inView2.outside.length}/${inView2.total} nodes inside, ${labels2.visible} labels shown, ${labels2.pairs.length} overlapping pairs`,
    );
    const data = (await (
      await fetch(`${mesh.url}/api/graph`, { headers: { authorization: `Bearer ${mesh.adminToken}` } })
    ).json()) as Parameters<typeof viewGraph>[0];
    const nodeRuns: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      new GridLayout().reset(viewGraph(data, { group: false, expanded: new Set() }), 1.6);
      nodeRuns.push(performance.now() - t0);
    }
    console.log(
      `layout 215 nodes in Node (model + reset) median ${median(nodeRuns).toFixed(2)} ms (20 runs)`,
    );
    await page.getByLabel('Group same-type workers').check();
    await page.waitForTimeout(300);

    const leads = mesh.plan.chains.filter((c) => c.hops.length === 2).slice(0, 10);
    const sel: number[] = [];
    for (const c of leads) sel.push(await selectLatency(page, `agent:${c.hops[1]!.sub}`, c.hops[1]!.sub));
    console.log(
      `selection (click → detail painted)   median ${median(sel).toFixed(1)} ms, max ${Math.max(...sel).toFixed(1)} ms (10 nodes)`,
    );

    mkdirSync('test-artifacts', { recursive: true });
    await page.screenshot({ path: 'test-artifacts/bench-dashboard-graph.png' });
    // Redraw coalescing: a burst of zoom events (one redraw request each) is drawn in far fewer frames.
    const coalescedBefore = Number(await page.locator('svg.graph').getAttribute('data-coalesced'));
    await page.evaluate(`(async () => {
      const svg = document.querySelector('svg.graph');
      const r = svg.getBoundingClientRect();
      for (let i = 0; i < 60; i++) {
        svg.dispatchEvent(new WheelEvent('wheel', { deltaY: i % 2 ? 40 : -40, clientX: r.x + r.width / 2,
          clientY: r.y + r.height / 2, bubbles: true, cancelable: true }));
      }
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    })()`);
    const merged = Number(await page.locator('svg.graph').getAttribute('data-coalesced')) - coalescedBefore;
    console.log(
      `zoom burst: 60 wheel events in one task → ${merged} redraw requests merged into earlier frames`,
    );
    await page.getByRole('button', { name: 'Fit to view' }).click();
    await page.waitForTimeout(200);
    const fetchesBefore = graphFetches.length;
    const trace = await startTrace(page);
    await startRecording(page);
    const load = startLiveLoad(mesh.log, mesh.plan, 400, mesh.written);
    await page.waitForTimeout(liveSeconds * 1000);
    const sent = await load.stop();
    const rec = await stopRecording(page);
    const tasks = await trace.stop(0);
    const longest = tasks.reduce((a, b) => (b.wallMs > a.wallMs ? b : a), { wallMs: 0, cpuMs: 0 });
    const cpuMax = Math.max(0, ...tasks.map((t) => t.cpuMs));
    console.log(
      `live: ${sent} decisions appended in ${liveSeconds} s (${(sent / liveSeconds).toFixed(0)}/s), batched into ${graphFetches.length - fetchesBefore} graph refetches`,
    );
    console.log(
      `  long tasks (wall, PerformanceObserver): ${rec.longTasks.length}, longest ${Math.max(0, ...rec.longTasks).toFixed(0)} ms`,
    );
    console.log(
      `  main-thread tasks (trace): longest wall ${longest.wallMs.toFixed(1)} ms (CPU ${longest.cpuMs.toFixed(1)} ms); most CPU in one task ${cpuMax.toFixed(1)} ms; tasks > 50 ms CPU: ${tasks.filter((t) => t.cpuMs > 50).length}`,
    );
    console.log(
      `  frames: ${rec.frames}, slow (≥ 33 ms, ≥ 1 dropped) ${rec.slowFrames} (${((100 * rec.slowFrames) / Math.max(1, rec.frames)).toFixed(1)} %), worst ${rec.worstFrame.toFixed(0)} ms`,
    );
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('button', { name: 'Fit to view' }).click();
    await page.waitForTimeout(300);
    await page.screenshot({ path: 'test-artifacts/bench-dashboard-mobile.png' });
  } finally {
    await browser.close();
    await mesh.close();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}
