/**
 * Policy authoring in a real browser (Debian Chromium via playwright-core) against `sigil serve` behind a real
 * Envoy: English → Rego, tests and explanation → a refused sentence with its suggestion → replay of the decisions
 * the sidecar recorded → activation; then real calls through Envoy follow the new policy and the ledger holds the
 * policy.activate entry with the new revision.
 */
import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from './support/browser.js';
import { POLICY_REV, type Stack, startStack } from './support/stack.js';

const ART = 'test-artifacts';
const id = (n: string) => `spiffe://sigil.mesh/agent/${n}/1`;
const PLANNER = id('planner');
const RESEARCHER = id('researcher');
const WRITER = id('writer');
/** Against the recorded traffic: researcher web.search stays allowed; writer fs.write and planner fs.list flip. */
const POLICY = 'researcher agents may call web.search.\nwriter agents may call fs.read.\n';

let stack: Stack;
let browser: TestBrowser;
let page: Page;
let tokens: { planner: string; researcher: string; writer: string };
const pageErrors: string[] = [];

const poll: typeof expect.poll = (fn, options) =>
  expect.poll(fn, {
    timeout: 15_000,
    interval: 100,
    ...(typeof options === 'string' ? { message: options } : options),
  });

const english = () => page.getByRole('textbox', { name: 'English policy text' });

async function adminGet<T>(path: string): Promise<T> {
  const r = await fetch(`${stack.adminUrl}${path}`, {
    headers: { authorization: `Bearer ${stack.adminToken}` },
  });
  return (await r.json()) as T;
}

beforeAll(async () => {
  mkdirSync(ART, { recursive: true });
  await build({ configFile: 'dashboard/vite.config.ts', logLevel: 'error' });
  stack = await startStack();
  const { service, stores, operator } = stack.issuer;
  stores.keys.agents.ensure(PLANNER);
  const planner = service.mint(
    { sub: PLANNER, task_id: 'task-authoring', tool_scope: ['fs.*', 'web.search'], ttl: 300 },
    operator,
  ).token;
  tokens = {
    planner,
    researcher: service.delegate({ token: planner, to: RESEARCHER, tool_scope: ['web.search'] }).token,
    writer: service.delegate({ token: planner, to: WRITER, tool_scope: ['fs.read', 'fs.write'] }).token,
  };
  browser = await launchBrowser();
  page = await browser.context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

describe('policy authoring in the dashboard', { timeout: 90_000 }, () => {
  it('the sidecar records decisions under the starting policy', async () => {
    const statuses = [
      await stack.call(tokens.researcher, 'web.search'),
      await stack.call(tokens.researcher, 'web.search'),
      await stack.call(tokens.writer, 'fs.write'),
      await stack.call(tokens.planner, 'fs.list'),
    ];
    expect(statuses).toEqual([200, 200, 200, 200]);
    await poll(
      async () => (await adminGet<{ items: unknown[] }>('/api/decisions?limit=10')).items.length,
    ).toBe(4);
  });

  it('compiles English into Rego, tests and explanation side by side', async () => {
    await page.goto(`${stack.adminUrl}/#token=${stack.adminToken}`);
    await page.getByRole('tab', { name: 'Policy' }).click();
    await poll(() => page.getByTestId('policy-revision').textContent()).toBe(POLICY_REV);
    await english().fill(POLICY);
    await page.getByRole('button', { name: 'Compile' }).click();
    await poll(() => page.getByTestId('author-rego').textContent()).toContain('package envoy.authz');
    expect(await page.getByTestId('author-rego').textContent()).toContain('"web.search"');
    expect(await page.getByTestId('author-tests').textContent()).toMatch(/test_/);
    expect(await page.getByTestId('author-explanation').locator('li').allTextContents()).toEqual([
      's1 (line 1): researcher agents may call web.search',
      's2 (line 2): writer agents may call fs.read',
    ]);
  });

  it('shows a refused sentence with line:column and the suggested phrasing; nothing can be activated', async () => {
    await english().fill(`${POLICY}writer agents can maybe call fs.write.\n`);
    await page.getByRole('button', { name: 'Compile' }).click();
    const errors = page.getByTestId('author-errors');
    await poll(() => errors.textContent()).toContain('line 3:19');
    expect(await errors.textContent()).toContain('maybe call fs.write');
    expect(await errors.textContent()).toContain('NLPOLICY_UNSUPPORTED_SENTENCE');
    expect(await page.getByTestId('author-suggestion').textContent()).toContain('writer agents can');
    expect(await page.getByRole('button', { name: 'Activate…' }).isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Replay' }).isDisabled()).toBe(true);
  });

  it('replays the recorded decisions and shows the flips per agent and tool', async () => {
    await english().fill(POLICY);
    await page.getByRole('button', { name: 'Compile' }).click();
    await page.getByTestId('author-rego').waitFor();
    await page.getByRole('button', { name: 'Replay' }).click();
    await poll(() => page.getByTestId('flips-a2d').textContent()).toBe('2');
    expect(await page.getByTestId('flips-d2a').textContent()).toBe('0');
    expect(await page.getByTestId('not-replayable').textContent()).toBe('0');
    const replay = page.getByTestId('author-replay');
    const row = async (key: string) =>
      (await replay.locator('tr', { hasText: key }).first().textContent()) ?? '';
    expect(await row('agent/writer/1')).toMatch(/agent\/writer\/1\s*1\s*0/);
    expect(await row('agent/planner/1')).toMatch(/agent\/planner\/1\s*1\s*0/);
    expect(await replay.textContent()).not.toContain('agent/researcher/1');
    expect(await row('fs.write')).toMatch(/fs\.write\s*1\s*0/);
    expect(await row('fs.list')).toMatch(/fs\.list\s*1\s*0/);
    // The sample table: the two flipped decisions, oldest first.
    const samples = await replay.locator('tbody').last().locator('tr').allTextContents();
    expect(samples).toHaveLength(2);
    expect(samples[0]).toMatch(/agent\/writer\/1.*fs\.write.*allow → deny/);
    expect(samples[1]).toMatch(/agent\/planner\/1.*fs\.list.*allow → deny/);
    await page.screenshot({ path: `${ART}/dashboard-policy-authoring.png`, fullPage: true });
  });

  it('activates after a confirm step; Envoy calls then follow the new policy and the ledger records it', async () => {
    await page.getByRole('button', { name: 'Activate…' }).click();
    await page.getByRole('button', { name: 'Confirm activation' }).click();
    await poll(() => page.getByTestId('author-activated').textContent()).toMatch(/revision nl-[0-9a-f]{16}/);
    const revision = /nl-[0-9a-f]{16}/.exec(
      (await page.getByTestId('author-activated').textContent()) ?? '',
    )![0];
    await poll(() => page.getByTestId('policy-revision').textContent()).toBe(revision);
    // The Check path decides by the words now.
    expect(await stack.call(tokens.writer, 'fs.write')).toBe(403);
    expect(await stack.call(tokens.planner, 'fs.list')).toBe(403);
    expect(await stack.call(tokens.researcher, 'web.search')).toBe(200);
    expect(await stack.call(tokens.writer, 'fs.read')).toBe(200);
    const latest = await adminGet<{ items: { record: { policy_rev?: string } }[] }>('/api/decisions?limit=1');
    expect(latest.items[0]?.record.policy_rev).toBe(revision);
    const activations = await adminGet<{ items: { record: Record<string, unknown> }[] }>(
      '/api/decisions?kind=policy.activate&limit=5',
    );
    expect(activations.items[0]?.record).toMatchObject({
      kind: 'policy.activate',
      revision,
      prev_revision: POLICY_REV,
    });
    expect(pageErrors).toEqual([]);
  });
});
