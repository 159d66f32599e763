/**
 * The audit timeline, trust over time and the policy view in Chromium (playwright-core, /usr/bin/chromium) against
 * the admin API in process over a real LMDB ledger of generated decisions (a small fixture of its own: tasks,
 * agents, tools, bad-signature denies over the last three hours) and a real PolicyEngine on a bundle the real OPA
 * built from policy/default through `sigil policy build`'s code. Histogram counts are compared with a brute-force
 * count of the records the test wrote; the rollback alarm is raised by serving the page a genuine, older signed
 * checkpoint.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { Registry } from 'prom-client';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminApiHandler, createAdminApi } from '../../src/admin/index.js';
import { type AdminServer, startAdminServer } from '../../src/admin/server.js';
import { MerkleLog } from '../../src/ledger/index.js';
import type { DecisionRecord } from '../../src/ledger/record.js';
import { buildBundle, PolicyEngine } from '../../src/policy/index.js';
import { launchBrowser, type TestBrowser } from './support/browser.js';

const TOKEN = 'audit-browser-test-admin-token-01';
const TZ = 'Asia/Kolkata'; // UTC+05:30 all year: the local times are unambiguous.
const NOW = Date.now();
const agent = (n: number) => `spiffe://sigil.mesh/agent/worker/${n}`;
let work: string;
let log: MerkleLog;
let engine: PolicyEngine;
const servers: AdminServer[] = [];
const apis: AdminApiHandler[] = [];
let url: string;
let builtinUrl: string;
let browser: TestBrowser;
let page: Page;
let key: string;
/** A genuine signed checkpoint of a smaller tree, served later as a rollback. */
let oldCheckpoint: { size: number; note: string };
const truth: DecisionRecord[] = [];
/** The agent the forged tokens claim to be. */
const CLAIMED = 'spiffe://x/agent/a/1';
const poll = <T>(fn: () => Promise<T> | T) => expect.poll(fn, { timeout: 15_000, interval: 100 });

function record(i: number): DecisionRecord {
  const ts = NOW - 3 * 3600_000 + Math.floor((i * 3 * 3600_000) / 1500);
  const sub = agent(i % 9);
  const base = {
    v: 1 as const,
    id: `dec-${i}`,
    ts,
    method: 'POST',
    host: 'tools.local',
    path: '/tools/fs.read',
  };
  if (i % 100 === 7) {
    // A forged token: the chain did not verify, so no identity is recorded (docs/ledger.md §4), only what
    // the token claimed, apart and marked unverified (record version 2, "Claimed identities").
    const claimed = { verified: false as const, sub: CLAIMED, task_id: 'T' };
    return { ...base, v: 2, decision: 'deny', code: 'TBIT_SIGNATURE_INVALID', http_status: 401, claimed };
  }
  if (i % 100 === 57) {
    // A forged token that claimed nothing well-formed: nothing claimed is recorded.
    return { ...base, decision: 'deny', code: 'TBIT_SIGNATURE_INVALID', http_status: 401 };
  }
  const deny = i % 4 === 0;
  return {
    ...base,
    decision: deny ? 'deny' : 'allow',
    code: deny ? 'AUTHZ_TOOL_NOT_IN_SCOPE' : 'OK',
    http_status: deny ? 403 : 200,
    sub,
    task_id: `task-${i % 3}`,
    tool: ['fs.read', 'fs.write', 'web.search'][i % 3] as string,
    depth: 2,
    chain: [
      { sub: agent(100), iss: 'spiffe://sigil.mesh/sigil/issuer', jti: `r${i}`, tool_scope: ['*'], exp: 2e9 },
      { sub, iss: agent(100), jti: `l${i}`, tool_scope: ['fs.*'], exp: 2e9 },
    ],
    token_hash: `tok-${i % 5}`,
    policy_rev: 'dash-audit',
  };
}

/** Brute force over what the test wrote: allows and denies in [since, until] passing `f`. */
function count(since: number, until: number, f: (r: DecisionRecord) => boolean = () => true) {
  const hits = truth.filter((r) => r.ts >= since && r.ts <= until && f(r));
  return {
    allow: hits.filter((r) => r.decision === 'allow').length,
    deny: hits.filter((r) => r.decision === 'deny').length,
  };
}

async function serve(withPolicy: boolean, ui: string): Promise<string> {
  const api = createAdminApi({
    adminToken: TOKEN,
    ledger: log,
    ...(withPolicy ? { policy: { engine, entrypoint: 'envoy/authz/allow' } } : {}),
    dashboardDir: ui,
  });
  const server = await startAdminServer({
    listen: '127.0.0.1:0',
    registry: new Registry(),
    isReady: () => true,
  });
  server.mount(api);
  apis.push(api);
  servers.push(server);
  return server.url;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'sigil-audit-browser-'));
  const ui = join(work, 'ui');
  // A build of the current sources of its own (other dashboard tests build dist/dashboard).
  await build({
    configFile: 'dashboard/vite.config.ts',
    logLevel: 'error',
    build: { outDir: ui, emptyOutDir: true },
  });
  log = await MerkleLog.open(join(work, 'ledger'), { origin: 'sigil.mesh/sigil/audit' });
  for (let i = 0; i < 1500; i++) {
    const r = record(i);
    truth.push(r);
    await log.appendDecision(r);
    if (i === 599) oldCheckpoint = await log.checkpoints.make();
  }
  await log.checkpoints.make();
  key = log.checkpoints.verifierKey;
  const bundle = join(work, 'bundle.tar.gz');
  await buildBundle('policy/default', {
    entrypoints: ['envoy/authz/allow'],
    output: bundle,
    revision: 'dash-audit-2',
    print: false,
  });
  engine = await PolicyEngine.start({
    source: bundle,
    entrypoint: 'envoy/authz/allow',
    registry: new Registry(),
    pollIntervalMs: 60_000,
  });
  url = await serve(true, ui);
  builtinUrl = await serve(false, ui);
  browser = await launchBrowser({ timezoneId: TZ });
  page = await browser.context.newPage();
  await page.goto(`${url}/#token=${TOKEN}`);
  await page.evaluate((k) => localStorage.setItem('sigil.verifierKey', k), key);
  await page.goto(`${url}/?view=audit`);
  await page.locator('[data-testid="histogram"]').waitFor({ timeout: 30_000 });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  for (const a of apis) a.close();
  for (const s of servers) await s.close();
  await engine?.close();
  await log?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Waits for the histogram the page asks for next and returns its range and the totals it shows. */
async function histogramAfter(action: () => Promise<unknown>) {
  const res = page.waitForResponse((r) => r.url().includes('/api/decisions/histogram'));
  await action();
  const body = (await (await res).json()) as {
    since: number;
    until: number;
    total: { allow: number; deny: number };
  };
  const card = page.getByTestId('histogram');
  await poll(() => card.getAttribute('data-allow')).toBe(String(body.total.allow));
  return {
    since: body.since,
    until: body.until,
    allow: Number(await card.getAttribute('data-allow')),
    deny: Number(await card.getAttribute('data-deny')),
  };
}

describe('audit timeline over the whole log', { timeout: 60_000 }, () => {
  it('range presets and filters drive server counts that equal a brute-force count of the log', async () => {
    const h = await histogramAfter(() => page.getByRole('button', { name: 'last 1 h' }).click());
    expect(h.until - h.since).toBe(3600_000);
    expect({ allow: h.allow, deny: h.deny }).toEqual(count(h.since, h.until));
    // The histogram counts the whole range, not the rows loaded (the list holds 200).
    expect(h.allow + h.deny).toBeGreaterThan(200);
    await page.fill('#f-task', 'task-1');
    await page.selectOption('#f-decision', 'deny');
    const f = await histogramAfter(() => page.getByRole('button', { name: 'Apply' }).click());
    expect({ allow: f.allow, deny: f.deny }).toEqual(
      count(f.since, f.until, (r) => r.task_id === 'task-1' && r.decision === 'deny'),
    );
    expect(f.deny).toBeGreaterThan(0);
    const rows = page.locator('table.decisions tbody tr');
    await poll(() => rows.count()).toBe(f.deny);
    await page.fill('#f-task', '');
    await page.selectOption('#f-decision', '');
    await page.fill('#f-tool', 'web.search');
    const t = await histogramAfter(() => page.getByRole('button', { name: 'Apply' }).click());
    expect({ allow: t.allow, deny: t.deny }).toEqual(count(t.since, t.until, (r) => r.tool === 'web.search'));
    await page.fill('#f-tool', '');
    await histogramAfter(() => page.getByRole('button', { name: 'Apply' }).click());
  });

  it('every time says its zone; the UTC/local switch changes them', async () => {
    const first = page.locator('[data-testid="row-time"]').first();
    const index = Number(await page.locator('table.decisions tbody tr').first().getAttribute('data-index'));
    const ts = log.decision(index).ts;
    const utc = new Date(ts).toISOString().slice(11, 19);
    await poll(() => first.textContent()).toBe(`${utc} UTC`);
    await page.getByLabel(/^local/).check();
    const local = new Date(ts + 5.5 * 3600_000).toISOString().slice(11, 19);
    await poll(() => first.textContent()).toBe(`${local} UTC+05:30`);
    expect(await page.getByTestId('histogram').textContent()).toContain('UTC+05:30');
    await page.getByLabel('UTC', { exact: true }).check();
    await poll(() => first.textContent()).toBe(`${utc} UTC`);
  });

  it('arrow keys move through rows and Enter moves focus to the detail panel', async () => {
    const rows = page.locator('table.decisions tbody tr');
    await rows.first().focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    const third = await rows.nth(2).getAttribute('data-index');
    await poll(() => page.evaluate('document.activeElement?.dataset?.index')).toBe(third);
    await page.keyboard.press('ArrowUp');
    const second = await rows.nth(1).getAttribute('data-index');
    await poll(() => rows.nth(1).getAttribute('aria-selected')).toBe('true');
    await page.keyboard.press('Enter');
    await poll(() => page.evaluate("document.activeElement?.getAttribute('data-testid')")).toBe('detail');
    expect(await page.getByTestId('detail').textContent()).toContain(`Decision #${second}`);
  });

  it('a bad-signature deny is marked unverified and shows the identity it claimed, labelled "claimed, unverified"', async () => {
    await page.fill('#f-code', 'TBIT_SIGNATURE_INVALID');
    await page.getByRole('button', { name: 'whole log' }).click();
    await page.getByRole('button', { name: 'Apply' }).click();
    const rows = page.locator('table.decisions tbody tr');
    await poll(() => rows.count()).toBe(truth.filter((r) => r.code === 'TBIT_SIGNATURE_INVALID').length);
    expect(await rows.locator('[data-testid="unverified"]').count()).toBe(await rows.count());
    // Rows of forged tokens that claimed an identity show it, labelled; the others say it is not recorded.
    const claimedRows = rows.filter({ has: page.getByTestId('claimed') });
    const claims = truth.filter((r) => r.code === 'TBIT_SIGNATURE_INVALID' && r.claimed !== undefined).length;
    expect(claims).toBeGreaterThan(0);
    expect(await claimedRows.count()).toBe(claims);
    expect(await claimedRows.first().getByTestId('claimed').textContent()).toBe(
      'agent/a/1 claimed, unverified',
    );
    expect(await claimedRows.first().getByTestId('claimed').locator('xpath=..').getAttribute('title')).toBe(
      CLAIMED,
    );
    expect(await rows.filter({ hasText: 'not recorded' }).count()).toBe((await rows.count()) - claims);
    await claimedRows.first().click();
    const detail = page.getByTestId('detail');
    await poll(() => detail.textContent()).toContain(`agent (claimed, unverified)${CLAIMED}`);
    expect(await detail.textContent()).toContain('task (claimed, unverified)T');
    await rows.filter({ hasText: 'not recorded' }).first().click();
    await poll(() => detail.textContent()).toContain(
      'agent (claimed, unverified)not recorded: the token did not verify',
    );
    expect(await detail.textContent()).not.toContain('task (claimed, unverified)');
    await page.fill('#f-code', '');
    await page.getByRole('button', { name: 'Apply' }).click();
  });

  it('"Verify these entries" verifies every listed entry in one go; a tampered proof names its entry', async () => {
    await page.getByRole('button', { name: 'last 1 h' }).click();
    await poll(() => page.locator('table.decisions tbody tr').count()).toBe(200);
    await page.getByTestId('verify-range').click();
    const verdict = page.getByTestId('range-verdict');
    await poll(() => verdict.textContent()).toContain('Range verified');
    expect(await verdict.textContent()).toContain('all 200 entries');
    // Flip one hash of one entry's path: that entry, and only it, fails.
    const victim = Number(await page.locator('table.decisions tbody tr').nth(5).getAttribute('data-index'));
    await page.route('**/api/proofs?*', async (route) => {
      const res = await route.fetch();
      const body = (await res.json()) as { entries: { index: number; proof: string[] }[] };
      const e = body.entries.find((x) => x.index === victim)!;
      const h = Buffer.from(e.proof[0]!, 'base64');
      h[0]! ^= 1;
      e.proof[0] = h.toString('base64');
      await route.fulfill({ response: res, json: body });
    });
    await page.getByTestId('verify-range').click();
    await poll(() => verdict.textContent()).toContain('Range verification failed');
    expect(await verdict.locator('li').allTextContents()).toEqual([
      `✗ entry #${victim}: the ${(await log.inclusionProof(victim, log.size)).length}-hash path does not lead to the signed root`,
    ]);
    await page.unroute('**/api/proofs?*');
  });

  it('re-evaluates an audit entry under the policy in force, as the API does', async () => {
    const row = page.locator('table.decisions tbody tr').nth(3);
    const index = Number(await row.getAttribute('data-index'));
    await row.click();
    await page.getByTestId('reevaluate').click();
    const box = page.getByTestId('reevaluation');
    await box.waitFor();
    const api = (await (
      await fetch(`${url}/api/policy/reevaluate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ index }),
      })
    ).json()) as { outcome: string; revision: string };
    expect(api.revision).toBe('dash-audit-2');
    expect(await box.getAttribute('data-outcome')).toBe(api.outcome);
    expect(await box.textContent()).toContain(`Entry #${index} under dash-audit-2`);
  });
});

describe('trust over time', { timeout: 60_000 }, () => {
  it('remembers the verified size, follows growth by consistency proof, and alarms on a rollback', async () => {
    const badge = page.getByTestId('trust-size');
    await poll(() => badge.textContent()).toBe(`log verified to size ${log.size}`);
    for (let i = 1500; i < 1510; i++) {
      truth.push(record(i));
      await log.appendDecision(record(i));
    }
    await log.checkpoints.make();
    const consistency = page.waitForResponse((r) => r.url().includes('/api/consistency?from=1500'));
    await page.reload();
    expect((await consistency).status()).toBe(200);
    await poll(() => page.getByTestId('trust-size').textContent()).toBe('log verified to size 1510');
    // A server (or a man in the middle) shows an older — genuinely signed — tree: a rollback.
    await page.route('**/api/checkpoint', (route) => route.fulfill({ json: oldCheckpoint }));
    await page.reload();
    const alarm = page.getByTestId('trust-alarm');
    await poll(() => alarm.getAttribute('data-kind')).toBe('rollback');
    expect(await alarm.textContent()).toContain(
      `log of ${oldCheckpoint.size} entries, this browser verified 1510`,
    );
    await page.unroute('**/api/checkpoint');
    // A bigger tree without a valid consistency proof from the verified one: a fork.
    for (let i = 1510; i < 1515; i++) await log.appendDecision(record(i));
    await log.checkpoints.make();
    await page.route('**/api/consistency?*', async (route) => {
      const res = await route.fetch();
      const body = (await res.json()) as { proof: string[] };
      body.proof = body.proof.map((h) =>
        Buffer.from(Buffer.from(h, 'base64').map((b) => b ^ 1)).toString('base64'),
      );
      await route.fulfill({ response: res, json: body });
    });
    await page.reload();
    await poll(() => page.getByTestId('trust-alarm').getAttribute('data-kind')).toBe('fork');
    await page.unroute('**/api/consistency?*');
    // The honest server again: the remembered size (1510) was kept, so the real proof verifies.
    await page.reload();
    await poll(() => page.getByTestId('trust-size').textContent()).toBe('log verified to size 1515');
  });
});

describe('policy view', { timeout: 60_000 }, () => {
  it('shows the real Rego of the running bundle and diffs it against a candidate', async () => {
    await page.goto(`${url}/?view=policy`);
    const rego = readFileSync('policy/default/authz.rego', 'utf8');
    await page.getByTestId('sources-full').waitFor();
    await poll(() => page.locator('pre.source').first().textContent()).toBe(rego);
    await page.fill(
      '#diff-candidate',
      rego.replace(
        'allow if input.sigil.valid',
        'allow if input.sigil.valid\nallow if input.sigil.depth < 3',
      ),
    );
    await page.getByRole('button', { name: 'Show diff' }).click();
    await poll(() => page.getByTestId('diff-summary').textContent()).toBe(
      '1 changed line (− in force, + candidate).',
    );
    expect(await page.locator('.diff-add').allTextContents()).toEqual(['+ allow if input.sigil.depth < 3']);
  });

  it('says the built-in policy is in force when no bundle is configured', async () => {
    await page.goto(`${builtinUrl}/#token=${TOKEN}`);
    await page.goto(`${builtinUrl}/?view=policy`);
    await poll(() => page.getByTestId('policy-builtin').textContent()).toContain('Built-in policy in force');
  });
});
