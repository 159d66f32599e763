/**
 * The OPA Wasm policy inside the real authz pipeline (checkFromConfig + real tokens + the decider from
 * createPolicyDecider): composition rules (TBIT first, policy only narrows, public routes still evaluated) and the
 * bundle revision in the ledger record.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import type { CheckResponse } from '../../gen/envoy/service/auth/v3/external_auth_pb.js';
import { loadConfig } from '../../src/config/index.js';
import { frozenClock } from '../../src/lib/clock.js';
import type { HookDecider } from '../../src/policy/index.js';
import { checkFromConfig, createPolicyDecider } from '../../src/serve/index.js';
import { checkRequest, deniedOf, okOf, toolsCall } from '../support/check-request.js';
import { agentId, testIdentity } from '../support/identity.js';
import { memorySink } from '../support/memory-sink.js';
import { opaBuild, opaBuildSources, POLICY_DIR, tempDir } from './support.js';

const T0 = 1_767_225_600_000;
const tmp = tempDir('sigil-pipeline-');
const deciders: HookDecider[] = [];
afterAll(async () => {
  await Promise.all(deciders.map((d) => d.close?.()));
  tmp.cleanup();
});

async function setup(bundle: Buffer, entrypoint = 'envoy/authz/allow') {
  const file = join(tmp.dir, `b${deciders.length}.tar.gz`);
  writeFileSync(file, bundle);
  const clock = frozenClock(T0);
  const id = testIdentity(clock);
  const config = loadConfig({
    env: {},
    overrides: {
      agent: { spiffe_id: agentId('local') },
      authz: { public_routes: [{ method: '*', path: '/healthz' }] },
      policy: { bundle: file, entrypoint, eval_timeout_ms: 5000 },
    },
  });
  const decider = (await createPolicyDecider(config, { registry: new Registry(), clock }))!;
  deciders.push(decider);
  const sink = memorySink();
  const { check } = checkFromConfig(config, { trust: id.trust, ledger: sink, clock, policy: decider });
  return { id, check, records: sink.records, decider };
}

const mcp = (name: string) => ({
  body: JSON.stringify(toolsCall(name)),
  headers: { 'content-type': 'application/json' },
});

function code(res: CheckResponse): string {
  if (okOf(res)) return 'OK';
  return String((JSON.parse(deniedOf(res)!.body) as { code: string }).code);
}

describe('policy step in the authz pipeline', () => {
  it('sigil-claims policy narrows: reads allowed, a sandbox task may not write', async () => {
    const s = await setup(opaBuild(join(POLICY_DIR, 'examples/sigil-claims')));
    const read = s.id.mint({ scope: ['fs.*'], task: 'task-1' });
    expect(code(await s.check(checkRequest(mcp('fs.read'), read.token)))).toBe('OK');
    expect(s.records[0]).toMatchObject({ decision: 'allow', policy_rev: s.decider.revision });
    expect(s.decider.revision).toMatch(/^sha256:[0-9a-f]{64}$/);

    const sandbox = s.id.mint({ scope: ['fs.*'], task: 'sandbox-9' });
    const res = await s.check(checkRequest(mcp('fs.write'), sandbox.token));
    expect(code(res)).toBe('POLICY_DENIED');
    expect(Number(deniedOf(res)!.status!.code)).toBe(403);
    expect(s.records[1]).toMatchObject({
      decision: 'deny',
      code: 'POLICY_DENIED',
      policy_rev: s.decider.revision,
    });
  });

  it('an allow-everything policy cannot turn a TBIT deny into an allow', async () => {
    const s = await setup(opaBuildSources({ 'p.rego': 'package envoy.authz\n\nallow := true\n' }));
    expect(code(await s.check(checkRequest(mcp('fs.read'))))).toBe('AUTHZ_NO_TOKEN');
    const narrow = s.id.mint({ scope: ['fs.read'] });
    expect(code(await s.check(checkRequest(mcp('db.write'), narrow.token)))).toBe('AUTHZ_TOOL_NOT_IN_SCOPE');
    expect(code(await s.check(checkRequest(mcp('fs.read'), narrow.token)))).toBe('OK');
  });

  it('public routes still go through the policy with input.sigil.valid = false', async () => {
    const s = await setup(opaBuild(join(POLICY_DIR, 'default')));
    expect(code(await s.check(checkRequest({ method: 'GET', path: '/healthz' })))).toBe('OK');
    expect(s.records[0]).toMatchObject({
      decision: 'allow',
      path: '/healthz',
      policy_rev: s.decider.revision,
    });
    // The default policy allows only read-only methods on public routes.
    expect(code(await s.check(checkRequest({ method: 'POST', path: '/healthz' })))).toBe('POLICY_DENIED');
  });

  it('a structured deny keeps its status and body; an evaluation error denies with its code', async () => {
    const s = await setup(
      opaBuildSources({
        'p.rego':
          'package envoy.authz\n\nallow := {"allowed": false, "http_status": 429, "body": "slow down", "headers": {"retry-after": "7"}} if input.sigil.tool == "search"\n\nallow := input.attributes.request.http.headers.x if input.sigil.tool != "search"\n',
      }),
    );
    const t = s.id.mint({ scope: ['*'] });
    const res = await s.check(checkRequest(mcp('search'), t.token));
    expect(Number(deniedOf(res)!.status!.code)).toBe(429);
    expect(deniedOf(res)!.body).toBe('slow down');
    expect(deniedOf(res)!.headers.find((h) => h.header?.key === 'retry-after')?.header?.value).toBe('7');
    // Non-boolean decision ("x" header is a string) → POLICY_RESULT_INVALID deny.
    const bad = await s.check(
      checkRequest({ ...mcp('fs.read'), headers: { ...mcp('fs.read').headers, x: 'yes' } }, t.token),
    );
    expect(code(bad)).toBe('POLICY_RESULT_INVALID');
    expect(s.records.at(-1)).toMatchObject({
      decision: 'deny',
      code: 'POLICY_RESULT_INVALID',
      policy_rev: s.decider.revision,
    });
  });
});

describe("the policy's result applied as opa-envoy-plugin applies it (real Wasm, real pipeline)", () => {
  const REGO = `package envoy.authz
import rego.v1
default result := {"allowed": false}
result := {
  "allowed": true,
  "headers": {"X-Tenant": ["acme", "beta"]},
  "response_headers_to_add": {"X-Served": "p"},
  "query_parameters_to_set": {"tenant": "acme"},
  "query_parameters_to_remove": ["token", "debug"],
  "dynamic_metadata": {"nested": {"a": [1, "x"]}, "decision_id": "forged"},
} if input.parsed_path == ["mcp"]
result := {"allowed": false, "http_status": 302, "headers": {"Location": "/login"}} if input.parsed_path == ["login"]
result := {"allowed": false, "http_status": 401, "headers": {"WWW-Authenticate": "Basic realm=\\"p\\""}, "body": "who?"} if input.parsed_path == ["basic"]
`;
  it('allow: headers as given, query parameters set and removed, nested dynamic metadata', async () => {
    const s = await setup(opaBuildSources({ 'p.rego': REGO }, ['envoy/authz/result']), 'envoy/authz/result');
    const t = s.id.mint({ scope: ['fs.*'] });
    const res = await s.check(checkRequest(mcp('fs.read'), t.token));
    const ok = okOf(res)!;
    expect(ok).toBeDefined();
    const policy = ok.headers.filter((h) => !h.header!.key.startsWith('x-sigil-'));
    // Each value its own entry, the name as written, no append action (the plugin sets none).
    expect(policy.map((h) => [h.header!.key, h.header!.value, h.appendAction])).toEqual([
      ['X-Tenant', 'acme', 0],
      ['X-Tenant', 'beta', 0],
    ]);
    expect(ok.responseHeadersToAdd.map((h) => h.header!.key)).toContain('X-Served');
    expect(ok.queryParametersToSet.map((q) => [q.key, q.value])).toEqual([['tenant', 'acme']]);
    expect(ok.queryParametersToRemove).toEqual(['token', 'debug']);
    expect(res.dynamicMetadata).toEqual({ nested: { a: [1, 'x'] }, decision_id: s.records[0]!.id });
  });
  it('deny: a 302 with Location, a 401 keeping the policy WWW-Authenticate and body', async () => {
    const s = await setup(opaBuildSources({ 'p.rego': REGO }, ['envoy/authz/result']), 'envoy/authz/result');
    const t = s.id.mint({ scope: ['fs.*'] });
    const login = deniedOf(await s.check(checkRequest({ ...mcp('fs.read'), path: '/login' }, t.token)))!;
    expect(Number(login.status!.code)).toBe(302);
    expect(login.headers.map((h) => [h.header!.key, h.header!.value])).toContainEqual(['Location', '/login']);
    expect(s.records[0]).toMatchObject({ decision: 'deny', http_status: 302 });
    const basic = deniedOf(await s.check(checkRequest({ ...mcp('fs.read'), path: '/basic' }, t.token)))!;
    expect(Number(basic.status!.code)).toBe(401);
    expect(basic.body).toBe('who?');
    const names = basic.headers.map((h) => h.header!.key.toLowerCase());
    expect(basic.headers.map((h) => [h.header!.key, h.header!.value])).toContainEqual([
      'WWW-Authenticate',
      'Basic realm="p"',
    ]);
    // No second challenge from SIGIL, and no content-type the policy did not ask for.
    expect(names.filter((n) => n === 'www-authenticate')).toHaveLength(1);
    expect(names).not.toContain('content-type');
  });
});
