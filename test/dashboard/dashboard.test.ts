/**
 * The dashboard in a real browser (Debian Chromium via playwright-core) against SIGIL's real serve composition
 * (ledger, issuer, OPA-Wasm policy, ext_authz) behind a real Envoy, seeded by the scripted scenario. Screenshots of
 * every view go to test-artifacts/ (git-ignored).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noteSigner } from '../../src/ledger/index.js';
import { generateEd25519 } from '../../src/lib/ed25519-key.js';
import { opaBuild } from '../policy/support.js';
import { launchBrowser, type TestBrowser } from './support/browser.js';
import { buildDashboard } from './support/build.js';
import { AGENTS, runScenario, type ScenarioResult, TASK, TASK2 } from './support/scenario.js';
import { POLICY_REV, type Stack, startStack } from './support/stack.js';

const ART = 'test-artifacts';
let stack: Stack;
let scenario: ScenarioResult;
let browser: TestBrowser;
let page: Page;
const cspViolations: string[] = [];
const pageErrors: string[] = [];
/** Every request the page made: url and body. */
const requests: { url: string; body: string | null }[] = [];

/** expect.poll with room for a loaded CI machine (the default 1 s is too tight with Envoy + SIGIL + Chromium running). */
const poll: typeof expect.poll = (fn, options) =>
  expect.poll(fn, {
    timeout: 10_000,
    interval: 100,
    ...(typeof options === 'string' ? { message: options } : options),
  });

const node = (id: string) => page.locator(`g.node[data-node="agent:${id}"]`);
const tab = (name: string) => page.getByRole('tab', { name });

beforeAll(async () => {
  mkdirSync(ART, { recursive: true });
  // Test the current sources, not a stale bundle.
  await buildDashboard();
  stack = await startStack();
  browser = await launchBrowser();
  page = await browser.context.newPage();
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('request', (r) => requests.push({ url: r.url(), body: r.postData() }));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

describe(`dashboard against SIGIL`, { timeout: 90_000 }, () => {
  it('without a token it asks for one; a wrong token is refused with ADMIN_UNAUTHORIZED', async () => {
    await page.goto(stack.adminUrl);
    await page.locator('#admin-token').waitFor();
    await page.fill('#admin-token', 'not-the-admin-token-at-all');
    await page.getByRole('button', { name: 'Log in' }).click();
    await poll(() => page.locator('.state-error').textContent()).toContain('ADMIN_UNAUTHORIZED');
    await tab('Audit timeline').click();
    expect(await page.locator('.panel').textContent()).toContain('Enter the admin token');
  });

  it('logs in from the #token= link, drops the token from the address bar and goes live', async () => {
    await page.goto(`${stack.adminUrl}/#token=${stack.adminToken}`);
    await poll(() => page.url()).not.toContain('token=');
    await page.getByTestId('live-state').getByText('live', { exact: true }).waitFor({ timeout: 10_000 });
    expect(await page.evaluate('localStorage.length')).toBe(0);
  });

  it('empty log: the graph and the timeline say how to get data', async () => {
    await poll(() => page.locator('.state-empty').textContent()).toContain('sigil demo');
    await tab('Audit timeline').click();
    await poll(() => page.locator('.state-empty').textContent()).toContain('The log is empty');
    await page.screenshot({ path: `${ART}/dashboard-empty.png` });
    await tab('Delegation graph').click();
  });

  it('the scenario goes through Envoy (allowed, out-of-scope, forged, tokenless) and the open graph fills in live', async () => {
    scenario = await runScenario(stack);
    expect(scenario.statuses).toEqual([200, 200, 200, 200, 200, 403, 403, 401, 401, 200]);
    await node(AGENTS.reviewer).waitFor({ timeout: 10_000 });
  });

  it('graph: shows the scenario agents, the delegation edges labelled with the narrowed scope, coloured by outcome', async () => {
    await node(AGENTS.reviewer).waitFor({ timeout: 10_000 });
    for (const a of [AGENTS.planner, AGENTS.researcher, AGENTS.writer, AGENTS.reviewer, AGENTS.triage]) {
      await poll(() => node(a).count()).toBe(1);
    }
    // The forged hop's subject never becomes a node: its chain did not verify.
    expect(await node(AGENTS.intruder).count()).toBe(0);
    const labels = await page.locator('text.edge-label').allTextContents();
    expect(labels.sort()).toEqual([
      'fs.*, web.search',
      'fs.read',
      'fs.read, fs.write',
      'tickets.read',
      'web.search',
    ]);
    await page.screenshot({ path: `${ART}/dashboard-graph.png` });
    // Edge endpoints: writer → reviewer carries fs.read (the table renders when opened).
    await page.getByText(/^Delegations as a table/).click();
    // The table renders on the toggle event: wait for its rows before reading them.
    await page.locator('[data-testid=edge-table] tbody tr').first().waitFor();
    const edges = await page.locator('[data-testid=edge-table] tbody tr').allTextContents();
    expect(
      edges.some((r) => r.includes(AGENTS.writer) && r.includes(AGENTS.reviewer) && r.includes('fs.read')),
    ).toBe(true);
    // reviewer: allowed fs.read then denied fs.write → red; writer: allowed → green.
    expect(await node(AGENTS.reviewer).locator('circle').getAttribute('fill')).toBe('#dc2626');
    expect(await node(AGENTS.writer).locator('circle').getAttribute('fill')).toBe('#16a34a');
  });

  it('graph: keyboard selection opens the node detail; the task filter hides other tasks', async () => {
    await node(AGENTS.reviewer).focus();
    await page.keyboard.press('Enter');
    await poll(() => page.locator('.node-detail').textContent()).toContain('1 allowed');
    await page.screenshot({ path: `${ART}/dashboard-graph-selected.png` });
    await page.selectOption('#graph-task', TASK);
    await poll(() => node(AGENTS.triage).count()).toBe(0);
    expect(await node(AGENTS.planner).count()).toBe(1);
    await page.selectOption('#graph-task', TASK2);
    await poll(() => node(AGENTS.planner).count()).toBe(0);
    expect(await node(AGENTS.triage).count()).toBe(1);
    await page.selectOption('#graph-task', '');
  });

  it('graph: a new decision appears live (server-sent events), without a reload', async () => {
    const archivist = 'spiffe://sigil.mesh/agent/archivist/1';
    await node(AGENTS.planner).waitFor();
    expect(await node(archivist).count()).toBe(0);
    const child = stack.issuer.service.delegate({
      token: scenario.tokens.writer,
      to: archivist,
      tool_scope: ['fs.read'],
    });
    expect(await stack.call(child.token, 'fs.read')).toBe(200);
    await node(archivist).waitFor({ timeout: 10_000 });
    const labels = await page.locator('text.edge-label').allTextContents();
    expect(labels.filter((l) => l === 'fs.read')).toHaveLength(2);
  });

  it('inspector: a forged widening hop shows TBIT_SCOPE_WIDENED on that hop; the token goes only to the verify endpoint', async () => {
    await tab('Token inspector').click();
    await page.fill('#tbit', scenario.tokens.forgedWidening);
    await page.getByRole('button', { name: 'Inspect' }).click();
    await poll(() => page.getByTestId('inspect-code').textContent()).toBe('TBIT_SCOPE_WIDENED');
    const rows = page.locator('table.hops tbody tr');
    expect(await rows.count()).toBe(4);
    expect(await rows.nth(3).getAttribute('class')).toContain('bad-row');
    expect(await rows.nth(3).textContent()).toContain('agent/intruder/1');
    expect(await rows.nth(2).textContent()).toContain('scope fs.read,fs.write → fs.read');
    await page.screenshot({ path: `${ART}/dashboard-inspector.png` });
    const carrying = requests.filter(
      (r) =>
        r.url.includes(scenario.tokens.forgedWidening.slice(-40)) ||
        r.body?.includes(scenario.tokens.forgedWidening.slice(-40)),
    );
    expect(carrying.map((r) => new URL(r.url).pathname)).toEqual(['/api/verify-token']);
    const stored = String(
      await page.evaluate('JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage })'),
    );
    expect(stored).not.toContain(scenario.tokens.forgedWidening.slice(-40));
  });

  it('inspector: the real reviewer chain verifies', async () => {
    await page.fill('#tbit', scenario.tokens.reviewer);
    await page.getByRole('button', { name: 'Inspect' }).click();
    await poll(() => page.getByTestId('inspect-verdict').textContent()).toContain('Valid chain');
    expect(await page.locator('table.hops tbody tr').count()).toBe(3);
  });

  it('audit: filters by decision and by code', async () => {
    await tab('Audit timeline').click();
    await page.locator('table.decisions tbody tr').first().waitFor();
    await page.selectOption('#f-decision', 'deny');
    await page.getByRole('button', { name: 'Apply' }).click();
    await poll(async () => new Set(await page.locator('table.decisions .pill').allTextContents())).toEqual(
      new Set(['deny']),
    );
    expect(await page.locator('table.decisions tbody tr').count()).toBe(4);
    await page.getByRole('button', { name: 'Reset' }).click();
    await page.fill('#f-code', 'TBIT_SCOPE_WIDENED');
    await page.getByRole('button', { name: 'Apply' }).click();
    await poll(() => page.locator('table.decisions tbody tr').count()).toBe(1);
    await page.fill('#f-code', '');
    await page.fill('#f-task', TASK2);
    await page.getByRole('button', { name: 'Apply' }).click();
    await poll(() => page.locator('table.decisions tbody tr').count()).toBe(1);
    await page.getByRole('button', { name: 'Reset' }).click();
    await poll(() => page.locator('table.decisions tbody tr').count()).toBe(11);
  });

  it('audit: without a pinned key, verification refuses and says what to do', async () => {
    await selectAllowRow();
    await page.getByTestId('verify').click();
    await poll(() => page.getByTestId('proof-verdict').textContent()).toContain('no verifier key is pinned');
  });

  it('audit: a real entry verifies in the browser against the pinned key', async () => {
    await pinKey(stack.verifierKey);
    await tab('Audit timeline').click();
    await selectAllowRow();
    await page.getByTestId('verify').click();
    const verdict = page.getByTestId('proof-verdict');
    await poll(() => verdict.textContent()).toContain('Verified');
    expect(await verdict.textContent()).toContain('Inclusion proof');
    await page.screenshot({ path: `${ART}/dashboard-audit.png`, fullPage: true });
  });

  it('audit: lifecycle entries are listed with a label per kind and verify in the browser', async () => {
    await tab('Audit timeline').click();
    await page.locator('table.decisions tbody tr').first().waitFor();
    await page.selectOption('#f-kind', 'sidecar.start');
    await page.getByRole('button', { name: 'Apply' }).click();
    await poll(() => page.locator('table.decisions .pill').allTextContents()).toEqual(['sidecar started']);
    await page.locator('table.decisions tbody tr').first().click();
    await page.getByTestId('verify').click();
    await poll(() => page.getByTestId('proof-verdict').textContent()).toContain('Verified');
    // Everything: the decisions and the sidecar's own lifecycle entries (its keys, its start), each labelled.
    await page.selectOption('#f-kind', 'all');
    await page.getByRole('button', { name: 'Apply' }).click();
    await poll(
      async () => new Set(await page.locator('table.decisions .pill.lifecycle').allTextContents()),
    ).toEqual(new Set(['key created', 'policy activated', 'sidecar started']));
    expect(await page.locator('table.decisions .pill.allow').count()).toBeGreaterThan(0);
    await page.getByRole('button', { name: 'Reset' }).click();
    await poll(() => page.locator('table.decisions .pill.lifecycle').count()).toBe(0);
    await selectAllowRow(); // the next test tampers with this row's proof
  });

  it('audit: a tampered proof, entry or checkpoint, or another key, fails with the reason', async () => {
    const cases: [string, (b: Record<string, unknown>) => void, string][] = [
      [
        'proof hash',
        (b) => ((b.proof as string[])[0] = flipB64((b.proof as string[])[0]!)),
        'Inclusion proof',
      ],
      [
        'entry',
        (b) =>
          (b.entry = Buffer.from(
            Buffer.from(b.entry as string, 'base64')
              .toString()
              .replace('"allow"', '"deny"'),
          ).toString('base64')),
        'Entry bytes',
      ],
      ['checkpoint root', (b) => (b.checkpoint = tamperRoot(b.checkpoint as string)), 'Checkpoint signature'],
      ['index', (b) => (b.index = (b.index as number) + 1), 'Inclusion proof'],
    ];
    for (const [what, mutate, failing] of cases) {
      await page.route('**/api/proof/*', async (route) => {
        const res = await route.fetch();
        const body = (await res.json()) as Record<string, unknown>;
        mutate(body);
        await route.fulfill({ response: res, json: body });
      });
      await page.getByTestId('verify').click();
      const verdict = page.getByTestId('proof-verdict');
      await poll(() => verdict.textContent(), { message: what }).toContain('Verification failed');
      expect(await verdict.locator('li.bad-text').textContent(), what).toContain(failing);
      if (what === 'proof hash')
        await page.screenshot({ path: `${ART}/dashboard-audit-tampered.png`, fullPage: true });
      await page.unroute('**/api/proof/*');
    }
    // A well-formed key of the same name that the log never signed with.
    await pinKey(noteSigner('sigil.mesh/sigil/audit', generateEd25519().privateKey).verifierKey);
    await tab('Audit timeline').click();
    await selectAllowRow();
    await page.getByTestId('verify').click();
    await poll(() => page.getByTestId('proof-verdict').textContent()).toContain('LEDGER_SIGNATURE_INVALID');
    await pinKey(stack.verifierKey);
  });

  it('audit: a new decision appears live at the top of the list', async () => {
    await tab('Audit timeline').click();
    await page.locator('table.decisions tbody tr').first().waitFor();
    const before = await page.locator('table.decisions tbody tr').count();
    expect(await stack.call(scenario.tokens.researcher, 'fs.delete')).toBe(403);
    await poll(() => page.locator('table.decisions tbody tr').count(), { timeout: 10_000 }).toBe(before + 1);
    const top = page.locator('table.decisions tbody tr').first();
    expect(await top.getAttribute('class')).toContain('fresh');
    expect(await top.textContent()).toContain('fs.delete');
  });

  it('policy: shows the loaded bundle and its Rego, evaluates an input like Check', async () => {
    await tab('Policy').click();
    await poll(() => page.getByTestId('policy-revision').textContent()).toBe(POLICY_REV);
    expect(await page.locator('#rego-file option').allTextContents()).toContainEqual(
      expect.stringContaining('authz.rego'),
    );
    await page.getByRole('button', { name: 'Evaluate' }).click();
    await poll(() => page.getByTestId('policy-result').textContent()).toContain('"allowed": true');
    const input = JSON.parse(await page.inputValue('#policy-input')) as {
      sigil: { valid: boolean; code: string };
    };
    input.sigil.valid = false;
    input.sigil.code = 'TBIT_EXPIRED';
    await page.fill('#policy-input', JSON.stringify(input));
    await page.getByRole('button', { name: 'Evaluate' }).click();
    await poll(() => page.getByTestId('policy-result').textContent()).toContain('"code": "POLICY_DENIED"');
    await page.screenshot({ path: `${ART}/dashboard-policy.png` });
  });

  it('policy: a broken bundle is refused with its code and the policy in force stays; a good one is hot-swapped', async () => {
    await page.setInputFiles('input[aria-label="Bundle file"]', {
      name: 'bundle.tar.gz',
      mimeType: 'application/gzip',
      buffer: gzipSync(Buffer.from('not a tar archive')),
    });
    await page.getByRole('button', { name: 'Upload' }).click();
    await poll(() => page.locator('.policy .state-error').textContent()).toContain('POLICY_BUNDLE_INVALID');
    expect(await page.getByTestId('policy-revision').textContent()).toBe(POLICY_REV);
    await page.setInputFiles('input[aria-label="Bundle file"]', {
      name: 'bundle.tar.gz',
      mimeType: 'application/gzip',
      buffer: opaBuild('policy/default', ['envoy/authz/allow'], 'dash-policy-2'),
    });
    await page.getByRole('button', { name: 'Upload' }).click();
    await poll(() => page.getByTestId('policy-revision').textContent()).toBe('dash-policy-2');
    // The Check path hot-reloaded the same file: new decisions name the new revision.
    await poll(
      async () => {
        await stack.call(scenario.tokens.writer, 'fs.read');
        const r = await fetch(`${stack.adminUrl}/api/decisions?limit=1`, {
          headers: { authorization: `Bearer ${stack.adminToken}` },
        });
        return ((await r.json()) as { items: { record: { policy_rev?: string } }[] }).items[0]?.record
          .policy_rev;
      },
      { timeout: 15_000, interval: 1000 },
    ).toBe('dash-policy-2');
  });

  it('policy: a broken bundle dropped on disk shows as the last load error while the previous bundle stays', async () => {
    writeFileSync(stack.policyFile, gzipSync(Buffer.from('garbage, not a bundle')));
    await poll(
      async () => {
        await tab('Audit timeline').click();
        await tab('Policy').click();
        return page.locator('.facts').textContent();
      },
      { timeout: 15_000, interval: 1000 },
    ).toContain('POLICY_BUNDLE_INVALID');
    expect(await page.getByTestId('policy-revision').textContent()).toBe('dash-policy-2');
    await page.screenshot({ path: `${ART}/dashboard-policy-error.png` });
  });

  it('attacker-controlled request fields are shown as text, never as markup', async () => {
    const payload = '<img src=x onerror="window.__pwned=1">';
    let dialogs = 0;
    page.on('dialog', (d) => {
      dialogs++;
      void d.dismiss();
    });
    // A valid chain asking for a tool named with markup (tool header): logged as a deny with that tool name.
    const res = await fetch(`${stack.envoyUrl}/tools/fs.read`, {
      method: 'POST',
      headers: { authorization: `Bearer ${scenario.tokens.reviewer}`, 'x-sigil-tool': payload },
      body: '{}',
    });
    expect(res.status).toBe(403);
    await tab('Audit timeline').click();
    const row = page.locator('table.decisions tbody tr').first();
    await poll(() => row.textContent()).toContain(payload);
    await row.click();
    await poll(() => page.locator('aside.detail').textContent()).toContain('<img');
    expect(await page.locator('aside.detail img, table.decisions img').count()).toBe(0);
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    expect(dialogs).toBe(0);
  });

  it('keyboard: tabs switch with the arrow keys', async () => {
    await tab('Policy').click();
    await tab('Policy').focus();
    await page.keyboard.press('ArrowRight');
    await poll(() => page.getByRole('tab', { selected: true }).textContent()).toBe('Audit timeline');
    await page.keyboard.press('ArrowLeft');
    await poll(() => page.getByRole('tab', { selected: true }).textContent()).toBe('Policy');
  });

  it('no CSP violations or script errors happened', () => {
    expect(cspViolations).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});

async function selectAllowRow(): Promise<void> {
  const row = page
    .locator('table.decisions tbody tr', { hasText: 'fs.write' })
    .filter({ hasText: 'allow' })
    .first();
  await row.click();
}

async function pinKey(key: string): Promise<void> {
  await tab('Settings').click();
  await page.fill('#verifier-key', key);
  await page.getByRole('button', { name: 'Pin key' }).click();
  await poll(() => page.getByTestId('pinned-key').textContent()).toBe(key);
}

function flipB64(s: string): string {
  const b = Buffer.from(s, 'base64');
  b[0] = b[0]! ^ 0x01;
  return b.toString('base64');
}

/** Replaces the root line (third line) of the checkpoint text with another 32-byte value, keeping the signature. */
function tamperRoot(note: string): string {
  const lines = note.split('\n');
  lines[2] = flipB64(lines[2]!);
  return lines.join('\n');
}
