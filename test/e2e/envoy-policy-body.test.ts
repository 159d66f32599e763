/**
 * A Rego policy behind the shipped Envoy config (envoy/sidecar.yaml: with_request_body + pack_as_bytes, so the
 * body reaches SIGIL as raw_body): body-based deny rules must see the body (this was a fail-open), and what the
 * policy returns (query parameter changes, a 302) must be what Envoy applies. Real Envoy 1.40, `sigil serve`
 * as a child process, a bundle built by the real `opa build`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../policy/support.js';
import { type EnvoyProcess, startTestEnvoy } from '../support/envoy.js';
import { issuerFor, type SigilProcess, startSigilProcess } from '../support/sigil-process.js';
import { type EchoUpstream, startEchoUpstream } from '../support/upstream.js';

const SELF = 'spiffe://sigil.mesh/agent/tools/e2e-body';
const ORCH = 'spiffe://sigil.mesh/agent/orchestrator/e2e-body';
const tmp = tempDir('sigil-e2e-policy-');

const REGO = `package envoy.authz
import rego.v1
default result := {"allowed": false}
deny if input.parsed_body.params.name == "fs.delete"
deny if "fs.delete" in input.parsed_body.tool
result := {"allowed": false, "http_status": 302, "headers": {"location": "/login"}} if input.parsed_path == ["login"]
result := {
  "allowed": true,
  "query_parameters_to_set": {"tenant": "acme"},
  "query_parameters_to_remove": ["secret"],
} if {
  not deny
  input.parsed_path[0] != "login"
}
`;

let upstream: EchoUpstream;
let sigil: SigilProcess;
let envoy: EnvoyProcess;
let issuer: Awaited<ReturnType<typeof issuerFor>>;

beforeAll(async () => {
  const src = join(tmp.dir, 'src');
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'p.rego'), REGO);
  const bundle = join(tmp.dir, 'bundle.tar.gz');
  execFileSync(resolve('.tools/bin/opa'), [
    'build',
    '-t',
    'wasm',
    '-e',
    'envoy/authz/result',
    '-o',
    bundle,
    src,
  ]);
  upstream = await startEchoUpstream();
  sigil = await startSigilProcess({
    agent: { spiffe_id: SELF },
    validator: { clock_skew: 0 },
    authz: { routes: [{ method: 'POST', path: '/tools/{name}', tool: '{name}' }] },
    policy: { bundle, entrypoint: 'envoy/authz/result', eval_timeout_ms: 5000 },
  });
  envoy = await startTestEnvoy(sigil.authzPort, upstream.port);
  issuer = await issuerFor(sigil.config);
});

afterAll(async () => {
  issuer?.close();
  await envoy?.stop();
  await sigil?.dispose();
  await upstream?.close();
  tmp.cleanup();
});

const token = () =>
  issuer.service.mint({ sub: ORCH, task_id: 't', tool_scope: ['fs.*'], aud: SELF, ttl: 120 }, issuer.operator)
    .token;

async function post(path: string, body: string, contentType: string) {
  const res = await fetch(`${envoy.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token()}`, 'content-type': contentType },
    body,
    redirect: 'manual',
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text };
}

const mcp = (name: string) =>
  JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: {} } });

describe('a body-based policy behind envoy/sidecar.yaml (raw_body)', () => {
  it('denies the MCP call the policy forbids; the upstream never sees it', async () => {
    const before = upstream.seen.length;
    const r = await post('/mcp', mcp('fs.delete'), 'application/json');
    expect(r.status).toBe(403);
    expect(JSON.parse(r.text)).toMatchObject({ code: 'POLICY_DENIED' });
    expect(upstream.seen.length).toBe(before);
  });

  it('denies the tool named in a form body (the route names another); the control passes', async () => {
    const form = 'application/x-www-form-urlencoded';
    const r = await post('/tools/fs.read', 'tool=fs.delete', form);
    expect([r.status, JSON.parse(r.text).code]).toEqual([403, 'POLICY_DENIED']);
    expect((await post('/tools/fs.read', 'tool=fs.read', form)).status).toBe(200);
  });

  it('allows the control call, with the query parameters the policy set and removed', async () => {
    const r = await post('/mcp?secret=s3&keep=1', mcp('fs.read'), 'application/json');
    expect(r.status).toBe(200);
    const seen = upstream.seen.at(-1)!;
    const q = new URL(seen.path, 'http://x').searchParams;
    expect(q.get('tenant')).toBe('acme');
    expect(q.get('keep')).toBe('1');
    expect(q.has('secret')).toBe(false);
  });

  it('a policy 302 reaches the client with its Location', async () => {
    const r = await post('/login', mcp('fs.read'), 'application/json');
    expect(r.status).toBe(302);
    expect(r.headers.get('location')).toBe('/login');
  });
});
