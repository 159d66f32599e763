/**
 * End to end through a real Envoy 1.40 with a real `sigil serve` child: a bundle swapped on disk changes the outcome
 * of the same request (allow → deny → allow), a broken bundle in between keeps the previous decision and shows up
 * in /metrics, and the deny names its policy code.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EnvoyProcess, startTestEnvoy } from '../support/envoy.js';
import { issuerFor, type SigilProcess, startSigilProcess } from '../support/sigil-process.js';
import { type EchoUpstream, startEchoUpstream } from '../support/upstream.js';
import { opaBuildSources, tempDir } from './support.js';

const SELF = 'spiffe://sigil.mesh/agent/tools/policy-e2e';
const ORCH = 'spiffe://sigil.mesh/agent/orchestrator/policy-e2e';

const tmp = tempDir('sigil-policy-e2e-');
const bundleFile = join(tmp.dir, 'bundle.tar.gz');
let upstream: EchoUpstream;
let sigil: SigilProcess;
let envoy: EnvoyProcess;
let issuer: Awaited<ReturnType<typeof issuerFor>>;

const ALLOW_READS = opaBuildSources(
  {
    'p.rego':
      'package envoy.authz\n\ndefault allow := false\n\nallow if {\n  input.sigil.valid\n  startswith(input.sigil.tool, "fs.")\n}\n',
  },
  undefined,
  'reads-v1',
);
const DENY_READS = opaBuildSources(
  {
    'p.rego':
      'package envoy.authz\n\ndefault allow := {"allowed": false, "http_status": 429, "body": "fs.read is frozen"}\n\nallow := true if input.sigil.tool == "search.web"\n',
  },
  undefined,
  'freeze-v2',
);

function swap(bytes: Buffer): void {
  writeFileSync(`${bundleFile}.tmp`, bytes);
  renameSync(`${bundleFile}.tmp`, bundleFile);
}

beforeAll(async () => {
  swap(ALLOW_READS);
  upstream = await startEchoUpstream();
  sigil = await startSigilProcess({
    agent: { spiffe_id: SELF },
    authz: { routes: [{ method: 'POST', path: '/tools/{name}', tool: '{name}' }] },
    policy: { bundle: bundleFile, poll_interval: 1, eval_timeout_ms: 2000 },
  });
  envoy = await startTestEnvoy(sigil.authzPort, upstream.port);
  issuer = await issuerFor(sigil.config);
  issuer.stores.keys.agents.ensure(ORCH);
});

afterAll(async () => {
  issuer?.close();
  await envoy?.stop();
  await sigil?.dispose();
  await upstream?.close();
  tmp.cleanup();
});

const mint = () =>
  issuer.service.mint(
    { sub: ORCH, task_id: 'task-pe2e', tool_scope: ['fs.*', 'search.*'], aud: SELF, ttl: 120 },
    issuer.operator,
  ).token;

async function call(tool: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${envoy.url}/tools/${tool}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${mint()}` },
  });
  return { status: res.status, text: await res.text() };
}

async function eventually(
  tool: string,
  status: number,
  ms = 15_000,
): Promise<{ status: number; text: string }> {
  const end = Date.now() + ms;
  for (;;) {
    const r = await call(tool);
    if (r.status === status || Date.now() > end) return r;
    await new Promise((res) => setTimeout(res, 100));
  }
}

async function loadErrors(): Promise<number> {
  const text = await (await fetch(`${sigil.adminUrl}/metrics`)).text();
  const lines = text.split('\n').filter((l) => l.startsWith('sigil_policy_load_errors_total'));
  return lines.reduce((a, l) => a + Number(l.split(' ').at(-1)), 0);
}

describe('Envoy → SIGIL with a hot-swapped OPA bundle', () => {
  it('the same request flips allow → deny → allow as bundles are swapped; a broken bundle changes nothing', async () => {
    expect((await call('fs.read')).status).toBe(200);
    expect((await call('search.web')).status).toBe(403); // the first policy narrows TBIT's allow

    swap(DENY_READS);
    const denied = await eventually('fs.read', 429);
    expect(denied.status, denied.text).toBe(429);
    expect(denied.text).toBe('fs.read is frozen');
    expect((await call('search.web')).status).toBe(200);

    const before = await loadErrors();
    swap(Buffer.from('definitely not a gzip bundle'));
    const end = Date.now() + 15_000;
    while ((await loadErrors()) === before && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    expect(await loadErrors()).toBeGreaterThan(before);
    expect((await call('fs.read')).status).toBe(429); // previous bundle still decides

    swap(ALLOW_READS);
    expect((await eventually('fs.read', 200)).status).toBe(200);
    expect(sigil.output()).toContain('policy bundle loaded');
  });
});
