/**
 * The witness badge and the Mesh view in a real browser (Chromium through playwright-core) against three real
 * `sigil serve` sidecars witnessing each other 2-of-3 (test/witness/sigil-mesh.ts) and a real mesh collector
 * (`collectorHandler`, what `sigil audit collect --serve` runs): the green badge, the Mesh view's answers for
 * one task across the three sidecars each verified in the browser, an answer altered in flight by a proxy shown
 * as failed, and the badge turning red when a witness goes down.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHttp, listenHttp } from '../../src/lib/listen.js';
import { collectorHandler, thresholdPolicy } from '../../src/witness/index.js';
import { record } from '../ledger/helpers.js';
import { MESH_ADMIN, type SigilMesh, startSigilMesh, waitCosigned } from '../witness/sigil-mesh.js';
import { launchBrowser, type TestBrowser } from './support/browser.js';

const COLLECTOR_TOKEN = 'mesh-collector-token-0123456789';
let mesh: SigilMesh;
let browser: TestBrowser;
let page: Page;
let collectorUrl: string;
let proxyUrl: string;
const servers: Server[] = [];
let ui: string;

/** The tlog-policy the operator pins in the browser: the three logs, the three witnesses, 2 of them. */
function policyText(threshold = '2'): string {
  const n = mesh.nodes;
  return [
    ...n.map((x) => `log ${x.logKey}`),
    ...n.map((x) => `witness ${x.name} ${x.witnessKey}`),
    `group mesh ${threshold} ${n.map((x) => x.name).join(' ')}`,
    'quorum mesh',
    '',
  ].join('\n');
}

beforeAll(async () => {
  // Both listeners bind to port 0 before anything else runs: a port picked now and bound after the build and
  // the mesh start-up below can be taken by another test file meanwhile (EADDRINUSE in CI). The collector's
  // handler needs the mesh, so requests are handed to it once it exists.
  let handler: RequestListener | undefined;
  const collector = createServer((req, res) => {
    if (handler) handler(req, res);
    else res.writeHead(503).end();
  });
  collectorUrl = (await listenHttp(collector, '127.0.0.1:0')).url;
  // A proxy that forwards to the collector and alters the entry bytes of its first answer (in flight).
  const proxy = createServer((req, res) => {
    void (async () => {
      const up = await fetch(`${collectorUrl}${req.url}`, {
        method: req.method,
        headers: Object.fromEntries(
          Object.entries(req.headers).filter(
            (e): e is [string, string] => typeof e[1] === 'string' && e[0] !== 'host',
          ),
        ),
      });
      let body = await up.text();
      if (req.method === 'GET' && up.status === 200) {
        const r = JSON.parse(body) as { answers: Array<{ bundle: string }> };
        r.answers[0]!.bundle = r.answers[0]!.bundle.replace(
          /^extra (\S)/m,
          (_m, c: string) => `extra ${c === 'A' ? 'B' : 'A'}`,
        );
        body = JSON.stringify(r);
      }
      const headers = Object.fromEntries(up.headers);
      delete headers['content-length'];
      delete headers['content-encoding'];
      res.writeHead(up.status, headers).end(body);
    })();
  });
  proxyUrl = (await listenHttp(proxy, '127.0.0.1:0')).url;
  servers.push(collector, proxy);
  // A build of the current sources of its own (other dashboard tests build into dist/dashboard meanwhile).
  ui = mkdtempSync(join(tmpdir(), 'sigil-witness-ui-'));
  await build({
    configFile: 'dashboard/vite.config.ts',
    logLevel: 'error',
    build: { outDir: ui, emptyOutDir: true },
  });
  // The dashboard's CSP must let it reach the collector (and the tampering proxy standing in for one).
  mesh = await startSigilMesh({ connect_src: [collectorUrl, proxyUrl] }, ui);
  const a = mesh.nodes[0]!;
  handler = collectorHandler({
    sources: mesh.nodes.map((n) => ({
      name: n.name,
      url: n.sigil!.admin.url,
      token: MESH_ADMIN,
      logKey: n.logKey,
    })),
    policy: thresholdPolicy(
      mesh.nodes.map((n) => n.witnessKey),
      2,
    ),
    token: COLLECTOR_TOKEN,
    allowOrigins: [a.sigil!.admin.url],
  });
  for (const [i, n] of mesh.nodes.entries()) {
    for (let j = 0; j < 3 + i; j++)
      await n.sigil!.ledger.appendDecision(
        record(j, {
          task_id: j % 2 === 0 ? 'task-T' : 'task-U',
          id: `${n.name}-${j}`,
          decision: j === 2 ? 'deny' : 'allow',
          tool: `tool-${n.name}`,
        }),
      );
    const cp = await n.sigil!.ledger.checkpoints.make();
    await waitCosigned(n, mesh.nodes, cp.size, 3);
  }
  browser = await launchBrowser();
  page = await browser.context.newPage();
  await page.goto(`${a.sigil!.admin.url}/#token=${MESH_ADMIN}`);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  for (const s of servers) await closeHttp(s, 100);
  await mesh?.close();
  if (ui) rmSync(ui, { recursive: true, force: true });
});

/** Sets the collector URL / token / policy through the Settings view, as an operator would. */
async function configureMesh(url: string, threshold = '2'): Promise<void> {
  await page.getByRole('tab', { name: 'Settings' }).click();
  await page.getByLabel('Collector URL').fill(url);
  await page.getByLabel('Collector token').fill(COLLECTOR_TOKEN);
  await page.getByLabel('Witness policy').fill(policyText(threshold));
  await page.getByRole('button', { name: 'Save mesh settings' }).click();
  await expect.poll(() => page.getByText('Saved in this browser.').count()).toBe(1);
}

/** Asks the Mesh view about `task`; the rows' sidecar, proof and policy cells. */
async function askMesh(task: string) {
  await page.getByRole('tab', { name: 'Mesh' }).click();
  await page.getByLabel('Task').fill(task);
  await page.getByRole('button', { name: 'Ask the mesh' }).click();
  const rows = page.getByTestId('mesh-row');
  await rows.first().waitFor({ timeout: 20_000 });
  return rows.evaluateAll((trs) =>
    trs.map((tr) => ({
      sidecar: tr.getAttribute('data-sidecar'),
      proof: tr.getAttribute('data-proof'),
      policy: tr.getAttribute('data-policy'),
      cells: [...tr.querySelectorAll('td')].map((td) => td.textContent ?? ''),
    })),
  );
}

describe('witness badge and Mesh view in Chromium, three sidecars 2-of-3', () => {
  it('shows the green "witnessed 3/3" badge, the cosignatures checked in the browser', async () => {
    const badge = page.getByTestId('witness-badge');
    await expect.poll(() => badge.textContent(), { timeout: 20_000 }).toBe('witnessed 3/3');
    expect(await badge.getAttribute('class')).toBe('pill allow');
    expect(await badge.getAttribute('title')).toBe(
      `vouched: ${mesh.nodes.map((n) => n.witnessName).join(', ')}`,
    );
  });

  it('answers task-T across the three sidecars, every proof verified in the browser', async () => {
    await configureMesh(collectorUrl);
    const rows = await askMesh('task-T');
    // j = 0, 2 (and 4 on c) of each sidecar are task-T.
    expect(rows.map((r) => r.sidecar).sort()).toEqual(['a', 'a', 'b', 'b', 'c', 'c', 'c']);
    for (const r of rows) {
      expect(r).toMatchObject({ proof: 'ok', policy: 'met' });
      expect(r.cells[0]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
      expect(r.cells[4]).toBe(`tool-${r.sidecar}`);
      expect(r.cells[5]).toBe('✓ verified');
      expect(r.cells[6]).toBe('✓ 3 cosigned');
    }
    expect(rows.filter((r) => r.cells[2] === 'deny')).toHaveLength(3);
  }, 60_000);

  it('cannot reach a collector origin the CSP does not list (sigil.admin.connect_src)', async () => {
    const violations: string[] = [];
    const onMsg = (m: { text(): string }) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    };
    page.on('console', onMsg);
    // The same collector under another origin (localhost instead of 127.0.0.1), not in connect_src.
    await configureMesh(collectorUrl.replace('127.0.0.1', 'localhost'));
    await page.getByRole('tab', { name: 'Mesh' }).click();
    await page.getByLabel('Task').fill('task-T');
    await page.getByRole('button', { name: 'Ask the mesh' }).click();
    await expect.poll(() => page.getByRole('alert').first().textContent()).toMatch(/^MESH_UNREACHABLE/);
    expect(await page.getByTestId('mesh-row').count()).toBe(0);
    page.off('console', onMsg);
    expect(violations.join('\n')).toMatch(/connect-src/);
  }, 60_000);

  it('shows an answer altered in flight as failed, the others still verified', async () => {
    await configureMesh(proxyUrl);
    const rows = await askMesh('task-T');
    expect(rows).toHaveLength(7);
    const failed = rows.filter((r) => r.proof === 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.policy).toBe('unmet');
    expect(failed[0]!.cells[5]).toMatch(/^✗ failed \(LEDGER_/);
    expect(rows.filter((r) => r.proof === 'ok' && r.policy === 'met')).toHaveLength(6);
  }, 60_000);

  it('turns the badge red when a witness goes down; the Mesh view then says which quorum is unmet', async () => {
    const [a, b] = mesh.nodes;
    await b!.sigil!.close();
    b!.sigil = undefined;
    await a!.sigil!.ledger.appendDecision(record(50, { id: 'a-after' }));
    await a!.sigil!.ledger.checkpoints.make();
    // The next submission finds b down; the page is reloaded rather than waiting for the badge's 10 s refresh.
    await expect
      .poll(
        async () => {
          await page.reload();
          return page.getByTestId('witness-badge').getAttribute('class', { timeout: 5000 });
        },
        { timeout: 30_000, interval: 1000 },
      )
      .toBe('pill deny');
    expect(await page.getByTestId('witness-badge').getAttribute('title')).toMatch(/b\.mesh\/witness: down/);

    // a's newest checkpoint now has two cosignatures (a, c): proven, but short of a policy of all three.
    await waitCosigned(a!, mesh.nodes, a!.sigil!.ledger.size, 2);
    await configureMesh(collectorUrl, 'all');
    const rows = await askMesh('task-T');
    expect(rows.map((r) => [r.sidecar, r.proof, r.policy]).sort()).toEqual([
      ['a', 'ok', 'unmet'],
      ['a', 'ok', 'unmet'],
      ['c', 'ok', 'met'],
      ['c', 'ok', 'met'],
      ['c', 'ok', 'met'],
    ]);
    expect(rows.find((r) => r.sidecar === 'a')!.cells[6]).toBe('✗ policy not met');
    expect(await page.getByTestId('mesh-error').textContent()).toMatch(/^b: WITNESS_UNAVAILABLE/);
  }, 60_000);
});
