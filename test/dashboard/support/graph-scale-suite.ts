/**
 * The delegation graph at scale (issue #24), in Debian's Chromium against the real admin API over a real LMDB
 * ledger holding a generated mesh (support/mesh.ts: 200 agents, 15 tasks, 50 000 decisions) and a live load of
 * 400 decisions/s appended through the ledger's append path (the one the SSE feed and /api/graph read). Shared by
 * test/dashboard/graph-scale.test.ts (short live run) and test/slow/dashboard-graph-live.test.ts (30 s).
 */
import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecisionRecord } from '../../../src/ledger/record.js';
import { launchBrowser, type TestBrowser } from './browser.js';
import { buildDashboard } from './build.js';
import {
  contrastFailures,
  horizontalOverflow,
  installProbe,
  labelOverlaps,
  longTasksSupported,
  nodesOutside,
  selectLatency,
  startRecording,
  startTrace,
  stopRecording,
  zoomTransform,
} from './graph-probe.js';
import { type MeshServer, startLiveLoad, startMeshServer } from './mesh.js';

// Page-side code runs in Chromium; the Node tsconfig has no DOM lib (see support/graph-probe.ts).
// biome-ignore lint/suspicious/noExplicitAny: a page global
declare const document: any;

const ART = 'test-artifacts';

/** Layout slot of every drawn node (`data-node` → "col,row"), independent of zoom and pan. */
function positions(page: Page): Promise<Record<string, string>> {
  return page.evaluate(() =>
    Object.fromEntries(
      [...document.querySelectorAll('svg.graph g.node')].map((n) => [
        n.dataset.node ?? '',
        n.dataset.slot ?? '',
      ]),
    ),
  );
}

/** Where each node is drawn on screen (its SVG transform). */
function screenPositions(page: Page): Promise<Record<string, string>> {
  return page.evaluate(() =>
    Object.fromEntries(
      [...document.querySelectorAll('svg.graph g.node')].map((n) => [
        n.dataset.node ?? '',
        n.getAttribute('transform') ?? '',
      ]),
    ),
  );
}

/** Registers the suite; `liveSeconds` is how long the 400 decisions/s load runs. */
export function graphScaleSuite(liveSeconds: number): void {
  let mesh: MeshServer;
  let browser: TestBrowser;
  let page: Page;
  const pageErrors: string[] = [];
  const graphFetches: number[] = [];
  const poll: typeof expect.poll = (fn, o) =>
    expect.poll(fn, { timeout: 15_000, interval: 100, ...(typeof o === 'string' ? { message: o } : o) });
  const tab = (name: string) => page.getByRole('tab', { name });
  const groupBox = () => page.getByLabel('Group same-type workers');

  beforeAll(async () => {
    mkdirSync(ART, { recursive: true });
    await buildDashboard();
    mesh = await startMeshServer({ entries: 50_000, dashboardDir: 'dist/dashboard' });
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('request', (r) => {
      if (r.url().includes('/api/graph')) graphFetches.push(Date.now());
    });
    await installProbe(page);
    await page.goto(`${mesh.url}/#token=${mesh.adminToken}`);
    await page.locator('svg.graph g.node').first().waitFor({ timeout: 30_000 });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await mesh?.close();
  });

  describe(`delegation graph: 200 agents, 15 tasks, 50 000 entries, live 400/s for ${liveSeconds} s`, {
    timeout: 120_000,
  }, () => {
    it('fits on load: every node inside the view, the graph fills the window, the window shown is stated', async () => {
      await poll(() => page.locator('svg.graph').getAttribute('data-transform')).not.toBeNull();
      const { total, outside } = await nodesOutside(page);
      // Grouped: 15 tasks + 15 planners + 30 leads + 30 worker groups.
      expect(total).toBe(90);
      expect(outside).toEqual([]);
      const box = (await page.locator('svg.graph').boundingBox())!;
      const vh = page.viewportSize()!.height;
      expect(box.y + box.height).toBeGreaterThan(vh - 30);
      expect(box.height).toBeGreaterThan(vh * 0.6);
      const text = await page.getByTestId('graph-window').textContent();
      expect(text).toMatch(
        /^Newest 5,000 decisions since \d\d:\d\d:\d\d UTC([+-]\d\d:\d\d)? to \d\d:\d\d:\d\d UTC([+-]\d\d:\d\d)?\./,
      );
      // Tokens whose chain did not verify are drawn as unverified callers.
      expect(await page.locator('line.edge.unverified').count()).toBeGreaterThan(0);
      await page.screenshot({ path: `${ART}/dashboard-graph-mesh.png` });
    });

    it('no two visible labels overlap, grouped, ungrouped (215 nodes) and zoomed in', async () => {
      let o = await labelOverlaps(page);
      expect(o.pairs).toEqual([]);
      // Every task label fits at the fitted zoom.
      expect(o.visible).toBeGreaterThanOrEqual(15);
      await groupBox().uncheck();
      await poll(() => page.locator('svg.graph g.node').count()).toBe(215);
      await poll(async () => (await nodesOutside(page)).outside).toEqual([]);
      o = await labelOverlaps(page);
      expect(o.pairs).toEqual([]);
      expect(o.visible).toBeGreaterThan(0);
      await page.screenshot({ path: `${ART}/dashboard-graph-mesh-ungrouped.png` });
      const box = (await page.locator('svg.graph').boundingBox())!;
      await page.mouse.move(box.x + box.width / 3, box.y + box.height / 3);
      for (let i = 0; i < 4; i++) await page.mouse.wheel(0, -300);
      await page.waitForTimeout(300);
      o = await labelOverlaps(page);
      expect(o.pairs).toEqual([]);
      await groupBox().check();
      await poll(() => page.locator('svg.graph g.node').count()).toBe(90);
    });

    it('selection answers within 100 ms and never moves a node', async () => {
      const before = await positions(page);
      const leads = mesh.plan.chains.filter((c) => c.hops.length === 2).slice(0, 5);
      const times: number[] = [];
      for (const c of leads) {
        const sub = c.hops[1]!.sub;
        times.push(await selectLatency(page, `agent:${sub}`, sub));
      }
      // The median of five clicks: one click can wait behind another process on a shared machine (the bench
      // prints every figure); the page's own cost is a few ms.
      const median = [...times].sort((a, b) => a - b)[2]!;
      expect(median, JSON.stringify(times)).toBeLessThanOrEqual(100);
      expect(await positions(page)).toEqual(before);
      // The selected lead's chain (task → planner → lead) is highlighted.
      const last = leads[leads.length - 1]!;
      expect(await page.locator(`g.node.on-chain[data-node="task:${last.task}"]`).count()).toBe(1);
      expect(await page.locator(`g.node.on-chain[data-node="agent:${last.hops[0]!.sub}"]`).count()).toBe(1);
    });

    it('finds a folded worker by SPIFFE ID: its group expands beside it, it is selected and centred', async () => {
      const before = await positions(page);
      const worker = mesh.plan.chains.find((c) => c.hops.length === 3 && c.task === mesh.plan.tasks[7])!;
      const sub = worker.hops[2]!.sub;
      await page.fill('#graph-find', sub);
      await page.getByRole('button', { name: 'Find' }).click();
      const node = page.locator(`g.node[data-node="agent:${sub}"]`);
      await node.waitFor();
      await poll(() => page.getByTestId('selected-label').textContent()).toBe(sub);
      expect(await node.getAttribute('class')).toContain('on-chain');
      const after = await positions(page);
      // Only the group was replaced by its members; every other node kept its place.
      for (const [id, p] of Object.entries(before)) if (id in after) expect(after[id], id).toBe(p);
      const svg = (await page.locator('svg.graph').boundingBox())!;
      const b = (await node.locator('circle').boundingBox())!;
      expect(Math.abs(b.x + b.width / 2 - (svg.x + svg.width / 2))).toBeLessThan(30);
      expect((await labelOverlaps(page)).pairs).toEqual([]);
      await page.screenshot({ path: `${ART}/dashboard-graph-find.png` });
      // A group expands on click, too.
      await page.getByRole('button', { name: 'Fit to view' }).click();
      const groups = page.locator('g.node.group');
      const n = await page.locator('svg.graph g.node').count();
      const g = groups.first();
      const members = Number(/group of (\d+) workers/.exec((await g.getAttribute('aria-label')) ?? '')?.[1]);
      expect(members).toBeGreaterThanOrEqual(3);
      await g.click();
      await poll(() => page.locator('svg.graph g.node').count()).toBe(n - 1 + members);
      await page.getByRole('button', { name: 'Fit to view' }).click();
      await poll(async () => (await nodesOutside(page)).outside).toEqual([]);
    });

    it(`live at 400 decisions/s: no main-thread task computes over 50 ms, zoom and positions kept, new agents placed`, async () => {
      expect(await longTasksSupported(page)).toBe(true);
      // The operator zooms and pans somewhere first.
      const box = (await page.locator('svg.graph').boundingBox())!;
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await page.mouse.wheel(0, -200);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width / 2 + 60, box.y + box.height / 2 + 40, { steps: 4 });
      await page.mouse.up();
      await page.waitForTimeout(200);
      const zoom = await zoomTransform(page);
      const before = await positions(page);
      const screenBefore = await screenPositions(page);
      const windowBefore = await page.getByTestId('graph-window').textContent();
      const trace = await startTrace(page);
      await startRecording(page);
      const fetchesBefore = graphFetches.length;
      const load = startLiveLoad(mesh.log, mesh.plan, 400, mesh.written);
      // Near the end (its one decision must stay among the newest 5,000), a new worker joins under a lead.
      const lead = mesh.plan.chains.find((c) => c.hops.length === 2 && c.task === mesh.plan.tasks[3])!;
      const newcomer = `${lead.hops[1]!.sub.replace(/\/[^/]+\/1$/, '')}/auditor/1`;
      await new Promise((r) => setTimeout(r, (liveSeconds - 4) * 1000));
      const template = mesh.plan.record(0, Date.now());
      const rec: DecisionRecord = {
        ...template,
        id: 'newcomer-1',
        sub: newcomer,
        task_id: lead.task,
        decision: 'allow',
        code: 'OK',
        http_status: 200,
        chain: [...lead.hops, { sub: newcomer, scope: ['fs.read'] }].map((h, d, all) => ({
          sub: h.sub,
          iss: d === 0 ? 'spiffe://sigil.mesh/sigil/issuer' : all[d - 1]!.sub,
          jti: `n-${d}`,
          tool_scope: h.scope,
          exp: Math.floor(Date.now() / 1000) + 300,
        })),
      };
      await mesh.log.appendDecision(rec);
      await new Promise((r) => setTimeout(r, 4000));
      const sent = await load.stop();
      mesh.written += sent + 1;
      const rec1 = await stopRecording(page);
      const tasks = await trace.stop(50);
      expect(sent).toBeGreaterThanOrEqual(400 * liveSeconds * 0.9);
      // The graph did refresh (about once a second), and drew the newcomer.
      expect(graphFetches.length - fetchesBefore).toBeGreaterThanOrEqual(Math.floor(liveSeconds / 2));
      await page.locator(`g.node[data-node="agent:${newcomer}"]`).waitFor({ timeout: 5000 });
      expect(await page.getByTestId('graph-window').textContent()).not.toBe(windowBefore);
      // The page's own work per main-thread task stays under 50 ms. Wall-clock long tasks (the PerformanceObserver's
      // view) also count time the OS gave other processes — on a shared CI machine that alone can pass 50 ms — so
      // each one is checked against its CPU time in the trace; a task that really computed > 50 ms fails.
      expect(
        tasks.filter((t) => t.cpuMs > 50),
        JSON.stringify({ rec1, tasks }),
      ).toEqual([]);
      expect(tasks.length).toBeGreaterThanOrEqual(rec1.longTasks.length > 0 ? 1 : 0);
      console.log(`live ${liveSeconds} s: ${JSON.stringify({ ...rec1, traced: tasks })}`);
      expect(await zoomTransform(page)).toBe(zoom);
      const after = await positions(page);
      for (const [id, p] of Object.entries(before)) expect(after[id], id).toBe(p);
      const screenAfter = await screenPositions(page);
      for (const [id, p] of Object.entries(screenBefore)) expect(screenAfter[id], id).toBe(p);
      expect(pageErrors).toEqual([]);
    });

    it('pause stops refetching and counts what is waiting; resume fetches once', async () => {
      await page.getByTestId('pause-live').check();
      const from = graphFetches.length;
      const load = startLiveLoad(mesh.log, mesh.plan, 100, mesh.written);
      await poll(() => page.locator('.toolbar').textContent()).toMatch(/\d+ new decisions waiting/);
      await new Promise((r) => setTimeout(r, 1500));
      mesh.written += await load.stop();
      expect(graphFetches.length).toBe(from);
      await page.getByTestId('pause-live').uncheck();
      await poll(() => graphFetches.length).toBeGreaterThan(from);
    });

    it('every visible text meets WCAG AA contrast, in every view', async () => {
      for (const name of ['Delegation graph', 'Token inspector', 'Policy', 'Audit timeline', 'Settings']) {
        await tab(name).click();
        await page.waitForTimeout(400);
        expect(await contrastFailures(page), name).toEqual([]);
      }
      await tab('Delegation graph').click();
    });

    it('below 1100 px the tabs wrap; at 390 px nothing scrolls sideways, tabs are reachable, the graph fits', async () => {
      await page.setViewportSize({ width: 1000, height: 800 });
      for (const t of await page.getByRole('tab').all()) {
        const b = (await t.boundingBox())!;
        expect(b.x + b.width).toBeLessThanOrEqual(1000);
      }
      await page.setViewportSize({ width: 390, height: 844 });
      for (const name of ['Token inspector', 'Policy', 'Audit timeline', 'Settings', 'Delegation graph']) {
        const t = tab(name);
        const b = (await t.boundingBox())!;
        expect(b.x, name).toBeGreaterThanOrEqual(0);
        expect(b.x + b.width, name).toBeLessThanOrEqual(390);
        await t.click();
        await page.waitForTimeout(300);
        expect(await horizontalOverflow(page), name).toBeLessThanOrEqual(0);
      }
      await page.getByRole('button', { name: 'Fit to view' }).click();
      await poll(async () => (await nodesOutside(page)).outside).toEqual([]);
      expect((await labelOverlaps(page)).pairs).toEqual([]);
      await page.screenshot({ path: `${ART}/dashboard-mobile.png` });
      await page.setViewportSize({ width: 1440, height: 900 });
    });
  });
}
