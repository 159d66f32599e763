/**
 * The decision pipeline in-process, with real tokens (mintRoot/delegate), a real trust store and the
 * default policy. Every test asserts the stable code of the decision.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { HeaderValueOption_HeaderAppendAction as Append } from '../../gen/envoy/config/core/v3/base_pb.js';
import type { CheckResponse } from '../../gen/envoy/service/auth/v3/external_auth_pb.js';
import type { DecisionSink } from '../../src/authz/index.js';
import { loadConfig } from '../../src/config/index.js';
import type { DecisionRecord } from '../../src/ledger/record.js';
import { frozenClock } from '../../src/lib/clock.js';
import type { HookDecider, HookVerdict } from '../../src/policy/api.js';
import { checkFromConfig } from '../../src/serve/check-from-config.js';
import { mintRoot } from '../../src/token/index.js';
import { checkRequest, deniedOf, headerRecord, okOf, toolsCall } from '../support/check-request.js';
import { agentId, testIdentity } from '../support/identity.js';
import { memorySink } from '../support/memory-sink.js';

const T0 = 1_767_225_600_000;
const SELF = agentId('local');

function setup(over: Record<string, unknown> = {}, policy?: HookDecider, ledger?: DecisionSink) {
  const clock = frozenClock(T0);
  const id = testIdentity(clock);
  const config = loadConfig({
    env: {},
    overrides: {
      agent: { spiffe_id: SELF },
      authz: {
        routes: [
          { method: 'POST', path: '/tools/{name}', tool: '{name}' },
          { method: 'GET', path: '/files/**', tool: 'fs.read' },
        ],
        public_routes: [{ method: 'GET', path: '/healthz' }],
        ...over,
      },
    },
  });
  const sink = memorySink();
  const { check, chains } = checkFromConfig(config, {
    trust: id.trust,
    ledger: ledger ?? sink,
    clock,
    ...(policy ? { policy } : {}),
  });
  return { clock, id, check, chains, records: sink.records };
}

function denied(res: CheckResponse): {
  status: number;
  code: string;
  body: Record<string, unknown>;
  headers: Record<string, string>;
} {
  expect(okOf(res)).toBeUndefined();
  const d = deniedOf(res)!;
  const body = JSON.parse(d.body) as Record<string, unknown>;
  return {
    status: Number(d.status!.code),
    code: String(body.code),
    body,
    headers: headerRecord(d.headers),
  };
}

function allowed(res: CheckResponse) {
  expect(deniedOf(res)).toBeUndefined();
  expect(res.status!.code).toBe(0);
  const ok = okOf(res)!;
  return {
    upstream: headerRecord(ok.headers),
    remove: ok.headersToRemove,
    downstream: headerRecord(ok.responseHeadersToAdd),
  };
}

const mcp = (name: string) => ({
  body: JSON.stringify(toolsCall(name)),
  headers: { 'content-type': 'application/json' },
});

describe('authz pipeline: token', () => {
  it('no token → 401 AUTHZ_NO_TOKEN with a Bearer challenge and a JSON body naming the decision', async () => {
    const s = setup();
    const d = denied(await s.check(checkRequest(mcp('fs.read'))));
    expect(d.status).toBe(401);
    expect(d.code).toBe('AUTHZ_NO_TOKEN');
    expect(d.headers['www-authenticate']).toBe('Bearer realm="sigil"');
    expect(typeof d.body.decision_id).toBe('string');
    expect(d.body.decision_id).toBe(d.headers['x-sigil-decision-id']);
    expect(s.records).toHaveLength(1);
    expect(s.records[0]).toMatchObject({
      decision: 'deny',
      code: 'AUTHZ_NO_TOKEN',
      http_status: 401,
      id: d.body.decision_id,
    });
  });

  it('a non-Bearer scheme → 401 AUTHZ_BAD_AUTH_HEADER', async () => {
    const s = setup();
    const d = denied(
      await s.check(checkRequest({ ...mcp('fs.read'), headers: { authorization: 'Basic dXNlcjpwYXNz' } })),
    );
    expect([d.status, d.code]).toEqual([401, 'AUTHZ_BAD_AUTH_HEADER']);
    expect(d.headers['www-authenticate']).toContain('error="invalid_token"');
  });

  it('two Authorization values (comma-joined by Envoy) → 401 AUTHZ_BAD_AUTH_HEADER', async () => {
    const s = setup();
    const { token } = s.id.mint({ scope: ['fs.read'] });
    const d = denied(
      await s.check(
        checkRequest({ ...mcp('fs.read'), headers: { authorization: `Bearer ${token},Bearer ${token}` } }),
      ),
    );
    expect(d.code).toBe('AUTHZ_BAD_AUTH_HEADER');
  });

  it('a configured token header takes the bare token (or Bearer form) and is the one stripped', async () => {
    const s = setup({ token_header: 'x-agent-token' });
    const { token } = s.id.mint({ scope: ['fs.read'] });
    const bare = allowed(
      await s.check(checkRequest({ ...mcp('fs.read'), headers: { 'x-agent-token': token } })),
    );
    expect(bare.remove).toEqual(['x-agent-token']);
    allowed(
      await s.check(checkRequest({ ...mcp('fs.read'), headers: { 'x-agent-token': `Bearer ${token}` } })),
    );
    // The standard header is ignored when another one is configured.
    expect(denied(await s.check(checkRequest(mcp('fs.read'), token))).code).toBe('AUTHZ_NO_TOKEN');
  });

  it('a forged token (signed by an untrusted key) → 401 with the token module code', async () => {
    const s = setup();
    const other = testIdentity(s.clock);
    const { token } = other.mint({ scope: ['*'] });
    const d = denied(await s.check(checkRequest(mcp('fs.read'), token)));
    expect(d.status).toBe(401);
    expect(d.code).toMatch(/^TBIT_(UNKNOWN_KEY|BAD_SIGNATURE)$/);
    expect(d.headers['www-authenticate']).toContain('error="invalid_token"');
  });

  it('a trusted key vouching beyond its binding → 401 TBIT_TRUST_DOMAIN_NOT_BOUND / TBIT_ISSUER_NOT_BOUND', async () => {
    const s = setup();
    // The fixture trust store binds the issuer key to ISS and trust domain sigil.mesh.
    const { token } = s.id.mint({ sub: 'spiffe://other.mesh/agent/x/1', scope: ['fs.read'] });
    const d = denied(await s.check(checkRequest(mcp('fs.read'), token)));
    expect([d.status, d.code]).toEqual([401, 'TBIT_TRUST_DOMAIN_NOT_BOUND']);
    expect(d.headers['www-authenticate']).toContain('error="invalid_token"');
    const otherIss = mintRoot({
      issuerKey: s.id.issuer.priv,
      kid: s.id.kid,
      iss: 'spiffe://other.mesh/sigil/issuer',
      sub: agentId('orchestrator'),
      aud: SELF,
      taskId: 't',
      toolScope: ['fs.read'],
      ttl: 60,
      clock: s.clock,
    });
    expect(denied(await s.check(checkRequest(mcp('fs.read'), otherIss))).code).toBe('TBIT_ISSUER_NOT_BOUND');
    expect(s.records.map((r) => r.code)).toEqual(['TBIT_TRUST_DOMAIN_NOT_BOUND', 'TBIT_ISSUER_NOT_BOUND']);
  });

  it('a tampered signature → 401 TBIT_BAD_SIGNATURE', async () => {
    const s = setup();
    const { token } = s.id.mint({ scope: ['fs.read'] });
    const last = token.at(-2) === 'A' ? 'B' : 'A';
    const bad = `${token.slice(0, -2)}${last}${token.at(-1)}`;
    const d = denied(await s.check(checkRequest(mcp('fs.read'), bad)));
    expect(d.code).toMatch(/^TBIT_(BAD_SIGNATURE|MALFORMED)$/);
  });

  it('an expired token → 401 TBIT_EXPIRED, even after it was cached', async () => {
    const s = setup();
    const { token } = s.id.mint({ scope: ['fs.read'], ttl: 30 });
    allowed(await s.check(checkRequest(mcp('fs.read'), token)));
    s.clock.advance(36_000); // past exp + validator.clock_skew (5 s)
    const d = denied(await s.check(checkRequest(mcp('fs.read'), token)));
    expect([d.status, d.code]).toEqual([401, 'TBIT_EXPIRED']);
  });

  it('a token for another audience → 403 TBIT_AUDIENCE_MISMATCH', async () => {
    const s = setup();
    const { token } = s.id.mint({ scope: ['fs.read'], aud: agentId('someone-else') });
    const d = denied(await s.check(checkRequest(mcp('fs.read'), token)));
    expect([d.status, d.code]).toEqual([403, 'TBIT_AUDIENCE_MISMATCH']);
  });
});

describe('authz pipeline: allow', () => {
  it('a client-sent x-sigil-receipt is overwritten by the ledger receipt, never removed after it', async () => {
    const s = setup();
    const { token } = s.id.mint({ scope: ['fs.*'] });
    const req = checkRequest(
      {
        ...mcp('fs.read'),
        headers: {
          ...mcp('fs.read').headers,
          'x-sigil-receipt': 'fake',
          'x-sigil-decision-id': 'fake',
          'x-sigil-admin': '1',
        },
      },
      token,
    );
    const a = allowed(await s.check(req));
    expect(a.upstream['x-sigil-receipt']).toBe('index=0');
    expect(a.upstream['x-sigil-decision-id']).toBe(s.records[0]!.id);
    // Envoy removes after setting: anything SIGIL sets must not be in the remove list.
    for (const k of Object.keys(a.upstream)) expect(a.remove).not.toContain(k);
    expect(a.remove).toContain('x-sigil-admin');
    expect(a.remove).toContain('authorization');
  });

  it('valid token + in-scope MCP tool → allow with identity headers, token stripped, spoofed x-sigil-* removed', async () => {
    const s = setup();
    const { token } = s.id.mint({ scope: ['fs.*'], task: 'task-42' });
    const req = checkRequest(
      {
        ...mcp('fs.read'),
        headers: { ...mcp('fs.read').headers, 'x-sigil-sub': 'spiffe://evil/x', 'x-sigil-admin': '1' },
      },
      token,
    );
    const a = allowed(await s.check(req));
    expect(a.upstream['x-sigil-sub']).toBe(agentId('orchestrator'));
    expect(a.upstream['x-sigil-task-id']).toBe('task-42');
    expect(a.upstream['x-sigil-depth']).toBe('1');
    expect(a.upstream['x-sigil-tool']).toBe('fs.read');
    expect(a.upstream['x-sigil-decision-id']).toBe(s.records[0]!.id);
    expect(a.remove).toContain('authorization');
    expect(a.remove).toContain('x-sigil-admin');
    expect(a.downstream['x-sigil-receipt']).toBe('index=0');
    expect(s.records[0]).toMatchObject({
      decision: 'allow',
      code: 'OK',
      http_status: 200,
      tool: 'fs.read',
      task_id: 'task-42',
      depth: 1,
    });
    expect(s.records[0]!.token_hash).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(s.records[0])).not.toContain(token.slice(0, 40));
  });

  it('every x-sigil-* header SIGIL sets overwrites (never appends to) a client value', async () => {
    const s = setup();
    const { token } = s.id.mint({ scope: ['fs.read'] });
    const res = await s.check(checkRequest(mcp('fs.read'), token));
    for (const h of okOf(res)!.headers) expect(h.appendAction).toBe(Append.OVERWRITE_IF_EXISTS_OR_ADD);
    expect(res.dynamicMetadata?.decision_id).toBe(s.records[0]!.id);
  });

  it('strip_token: false keeps the token for the upstream', async () => {
    const s = setup({ strip_token: false });
    const { token } = s.id.mint({ scope: ['fs.read'] });
    expect(allowed(await s.check(checkRequest(mcp('fs.read'), token))).remove).not.toContain('authorization');
  });

  it('the second Check of the same token is a cache hit; a revocation invalidates it', async () => {
    const s = setup();
    const { token } = s.id.mint({ scope: ['fs.read'], task: 'task-r' });
    allowed(await s.check(checkRequest(mcp('fs.read'), token)));
    expect(s.chains.size).toBe(1);
    allowed(await s.check(checkRequest(mcp('fs.read'), token)));
    s.id.trust.update({ revocations: { tasks: ['task-r'], jtis: [] } });
    const d = denied(await s.check(checkRequest(mcp('fs.read'), token)));
    expect([d.status, d.code]).toEqual([401, 'TBIT_REVOKED']);
  });

  it('the cache is bounded', async () => {
    const clock = frozenClock(T0);
    const id = testIdentity(clock);
    const config = loadConfig({ env: {}, overrides: { agent: { spiffe_id: SELF } } });
    const { check, chains } = checkFromConfig(config, {
      trust: id.trust,
      ledger: memorySink(),
      clock,
      cacheEntries: 3,
    });
    for (let i = 0; i < 6; i++) {
      const { token } = id.mint({ scope: ['fs.read'], task: `t${i}` });
      allowed(await check(checkRequest(mcp('fs.read'), token)));
    }
    expect(chains.size).toBe(3);
  });
});

describe('authz pipeline: tools', () => {
  let s: ReturnType<typeof setup>;
  let token: string;
  beforeEach(() => {
    s = setup();
    token = s.id.mint({ scope: ['fs.read', 'search.*'] }).token;
  });

  it('MCP tools/call outside the scope → 403 AUTHZ_TOOL_NOT_IN_SCOPE with insufficient_scope', async () => {
    const d = denied(await s.check(checkRequest(mcp('fs.write'), token)));
    expect([d.status, d.code]).toEqual([403, 'AUTHZ_TOOL_NOT_IN_SCOPE']);
    expect(d.headers['www-authenticate']).toContain('insufficient_scope');
    expect(s.records[0]!.tool).toBe('fs.write');
  });

  it('a batch is allowed only when every tools/call is in scope', async () => {
    const ok = JSON.stringify([
      toolsCall('fs.read', 1),
      toolsCall('search.web', 2),
      { jsonrpc: '2.0', method: 'notifications/x' },
    ]);
    const bad = JSON.stringify([toolsCall('fs.read', 1), toolsCall('shell.exec', 2)]);
    const ct = { 'content-type': 'application/json' };
    expect(
      allowed(await s.check(checkRequest({ body: ok, headers: ct }, token))).upstream['x-sigil-tool'],
    ).toBe('fs.read,search.web');
    expect(denied(await s.check(checkRequest({ body: bad, headers: ct }, token))).code).toBe(
      'AUTHZ_TOOL_NOT_IN_SCOPE',
    );
  });

  it('the MCP body wins over the tool header (the body is what the server executes)', async () => {
    const req = checkRequest(
      { ...mcp('shell.exec'), headers: { ...mcp('x').headers, 'x-sigil-tool': 'fs.read' } },
      token,
    );
    expect(denied(await s.check(req)).code).toBe('AUTHZ_TOOL_NOT_IN_SCOPE');
  });

  it('a tools/call mislabelled as text/plain is still inspected', async () => {
    const req = checkRequest(
      {
        body: JSON.stringify(toolsCall('shell.exec')),
        headers: { 'content-type': 'text/plain', 'x-sigil-tool': 'fs.read' },
      },
      token,
    );
    expect(denied(await s.check(req)).code).toBe('AUTHZ_TOOL_NOT_IN_SCOPE');
  });

  it('malformed JSON → 400 AUTHZ_BODY_INVALID; a truncated (partial) body → 413 AUTHZ_BODY_PARTIAL', async () => {
    const ct = { 'content-type': 'application/json' };
    const body = JSON.stringify(toolsCall('fs.read'));
    expect(denied(await s.check(checkRequest({ body: '{"jsonrpc":', headers: ct }, token))).code).toBe(
      'AUTHZ_BODY_INVALID',
    );
    const partial = { ...ct, 'x-envoy-auth-partial-body': 'true' };
    const d = denied(await s.check(checkRequest({ body: body.slice(0, 30), headers: partial }, token)));
    expect([d.status, d.code]).toEqual([413, 'AUTHZ_BODY_PARTIAL']);
  });

  it.each([
    [
      'jsonrpc missing on a tools/call',
      { id: 1, method: 'tools/call', params: { name: 'fs.read' } },
      'AUTHZ_BODY_INVALID',
    ],
    [
      'name not a string',
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 7 } },
      'AUTHZ_BODY_INVALID',
    ],
    ['params missing', { jsonrpc: '2.0', id: 1, method: 'tools/call' }, 'AUTHZ_BODY_INVALID'],
    ['method not a string', { jsonrpc: '2.0', id: 1, method: 5 }, 'AUTHZ_BODY_INVALID'],
    [
      'wrong version',
      { jsonrpc: '1.0', id: 1, method: 'tools/call', params: { name: 'fs.read' } },
      'AUTHZ_BODY_INVALID',
    ],
    [
      'empty batch of rpc',
      [{ jsonrpc: '2.0', method: 'tools/call', params: { name: '' } }],
      'AUTHZ_BODY_INVALID',
    ],
  ])('bad JSON-RPC (%s) → %s', async (_name, doc, code) => {
    const d = denied(
      await s.check(
        checkRequest({ body: JSON.stringify(doc), headers: { 'content-type': 'application/json' } }, token),
      ),
    );
    expect(d.code).toBe(code);
  });

  it.each([
    [
      'params.name',
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"shell.exec","name":"fs.read"}}',
    ],
    [
      'escaped duplicate',
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"shell.exec","na\\u006de":"fs.read"}}',
    ],
    [
      'method',
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","method":"ping","params":{"name":"shell.exec"}}',
    ],
    [
      'in a batch member',
      '[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"shell.exec","name":"fs.read"}}]',
    ],
  ])('duplicate member names (%s) → 400 AUTHZ_BODY_INVALID (parser differential)', async (_n, body) => {
    const d = denied(
      await s.check(checkRequest({ body, headers: { 'content-type': 'application/json' } }, token)),
    );
    expect([d.status, d.code]).toEqual([400, 'AUTHZ_BODY_INVALID']);
  });

  it('the same names in different objects are fine', async () => {
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'fs.read', arguments: { name: 'x', params: { name: 'y' } } },
    });
    allowed(await s.check(checkRequest({ body, headers: { 'content-type': 'application/json' } }, token)));
  });

  it('a non-UTF-8 raw body labelled JSON → 400 AUTHZ_INVALID_ENCODING', async () => {
    const raw = Buffer.concat([
      Buffer.from('{"jsonrpc":"2.0","method":"tools/call","params":{"name":"fs.'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}}'),
    ]);
    const d = denied(
      await s.check(checkRequest({ rawBody: raw, headers: { 'content-type': 'application/json' } }, token)),
    );
    expect([d.status, d.code]).toEqual([400, 'AUTHZ_INVALID_ENCODING']);
  });

  it('a raw (pack_as_bytes) MCP body is inspected like a string one', async () => {
    const raw = Buffer.from(JSON.stringify(toolsCall('shell.exec')));
    expect(
      denied(
        await s.check(checkRequest({ rawBody: raw, headers: { 'content-type': 'application/json' } }, token)),
      ).code,
    ).toBe('AUTHZ_TOOL_NOT_IN_SCOPE');
  });

  it('an oversized body → 413 AUTHZ_BODY_TOO_LARGE', async () => {
    const s2 = setup({ max_body_bytes: 1024 });
    const t = s2.id.mint({ scope: ['*'] }).token;
    const d = denied(await s2.check(checkRequest({ body: 'x'.repeat(2000) }, t)));
    expect([d.status, d.code]).toEqual([413, 'AUTHZ_BODY_TOO_LARGE']);
  });

  it('the tool header names the tool for non-MCP calls', async () => {
    const req = checkRequest(
      { method: 'POST', path: '/rpc', headers: { 'x-sigil-tool': 'search.web' } },
      token,
    );
    expect(allowed(await s.check(req)).upstream['x-sigil-tool']).toBe('search.web');
    const bad = checkRequest(
      { method: 'POST', path: '/rpc', headers: { 'x-sigil-tool': 'fs.read,fs.write' } },
      token,
    );
    expect(denied(await s.check(bad)).code).toBe('AUTHZ_BAD_REQUEST');
  });

  it('a tool header cannot cover a route that runs another tool (every named tool must be in scope)', async () => {
    const spoof = checkRequest(
      { method: 'POST', path: '/tools/shell.exec', headers: { 'x-sigil-tool': 'fs.read' } },
      token,
    );
    expect(denied(await s.check(spoof)).code).toBe('AUTHZ_TOOL_NOT_IN_SCOPE');
    const agree = checkRequest(
      { method: 'POST', path: '/tools/fs.read', headers: { 'x-sigil-tool': 'fs.read' } },
      token,
    );
    expect(allowed(await s.check(agree)).upstream['x-sigil-tool']).toBe('fs.read');
    const both = checkRequest({ ...mcp('search.web'), method: 'POST', path: '/tools/fs.read' }, token);
    expect(allowed(await s.check(both)).upstream['x-sigil-tool']).toBe('search.web,fs.read');
  });

  it('route rules map method + path to a tool, with captures', async () => {
    expect(
      allowed(await s.check(checkRequest({ method: 'GET', path: '/files/a/b.txt?x=1' }, token))).upstream[
        'x-sigil-tool'
      ],
    ).toBe('fs.read');
    expect(
      allowed(await s.check(checkRequest({ method: 'POST', path: '/tools/search.web' }, token))).upstream[
        'x-sigil-tool'
      ],
    ).toBe('search.web');
    expect(denied(await s.check(checkRequest({ method: 'POST', path: '/tools/fs.write' }, token))).code).toBe(
      'AUTHZ_TOOL_NOT_IN_SCOPE',
    );
  });

  it('no tool anywhere → 403 AUTHZ_NO_TOOL; with require_tool: false the verified identity alone suffices', async () => {
    const d = denied(await s.check(checkRequest({ method: 'GET', path: '/unmapped' }, token)));
    expect([d.status, d.code]).toEqual([403, 'AUTHZ_NO_TOOL']);
    const lax = setup({ require_tool: false });
    const t = lax.id.mint({ scope: ['fs.read'] }).token;
    const a = allowed(await lax.check(checkRequest({ method: 'GET', path: '/unmapped' }, t)));
    expect(a.upstream['x-sigil-sub']).toBe(agentId('orchestrator'));
    expect(a.upstream['x-sigil-tool']).toBeUndefined();
    // A tool that IS named must still be in scope.
    expect(
      denied(
        await lax.check(
          checkRequest({ method: 'GET', path: '/x', headers: { 'x-sigil-tool': 'fs.write' } }, t),
        ),
      ).code,
    ).toBe('AUTHZ_TOOL_NOT_IN_SCOPE');
    // Without a token it is still a 401.
    expect(denied(await lax.check(checkRequest({ method: 'GET', path: '/unmapped' }))).code).toBe(
      'AUTHZ_NO_TOKEN',
    );
  });

  it('a public route needs no token, and spoofed identity headers are still removed', async () => {
    const a = allowed(
      await s.check(
        checkRequest({ method: 'GET', path: '/healthz', headers: { 'x-sigil-sub': 'spiffe://evil/x' } }),
      ),
    );
    expect(a.upstream['x-sigil-sub']).toBeUndefined();
    expect(a.remove).toContain('x-sigil-sub');
    expect(s.records[0]).toMatchObject({ decision: 'allow', path: '/healthz' });
  });
});

describe('authz pipeline: delegation', () => {
  it('a narrowed delegation is allowed only within the narrowed scope, with its depth and holder', async () => {
    const s = setup();
    const root = s.id.mint({ scope: ['fs.*', 'search.*'] });
    const child = s.id.delegate(root.token, root.holder, agentId('worker'), ['fs.read']);
    const a = allowed(await s.check(checkRequest(mcp('fs.read'), child.token)));
    expect(a.upstream['x-sigil-sub']).toBe(agentId('worker'));
    expect(a.upstream['x-sigil-depth']).toBe('2');
    expect(denied(await s.check(checkRequest(mcp('fs.write'), child.token))).code).toBe(
      'AUTHZ_TOOL_NOT_IN_SCOPE',
    );
    expect(denied(await s.check(checkRequest(mcp('search.web'), child.token))).code).toBe(
      'AUTHZ_TOOL_NOT_IN_SCOPE',
    );
    // The parent itself still has its wider scope.
    allowed(await s.check(checkRequest(mcp('search.web'), root.token)));
    expect(s.records.at(-1)!.chain).toHaveLength(1);
    expect(s.records[0]!.chain!.map((h) => h.sub)).toEqual([agentId('orchestrator'), agentId('worker')]);
  });
});

describe('authz pipeline: peer binding', () => {
  it('when_present: a different mTLS principal → 401 AUTHZ_PEER_MISMATCH; the holder itself passes', async () => {
    const s = setup();
    const { token } = s.id.mint({ scope: ['fs.read'], sub: agentId('a') });
    expect(
      denied(await s.check(checkRequest({ ...mcp('fs.read'), principal: agentId('b') }, token))).code,
    ).toBe('AUTHZ_PEER_MISMATCH');
    allowed(await s.check(checkRequest({ ...mcp('fs.read'), principal: agentId('a') }, token)));
    allowed(await s.check(checkRequest(mcp('fs.read'), token)));
  });

  it('require: no principal → 401 AUTHZ_PEER_REQUIRED; off: a mismatch is ignored', async () => {
    const req = setup({ peer_binding: 'require' });
    const t1 = req.id.mint({ scope: ['fs.read'] }).token;
    expect(denied(await req.check(checkRequest(mcp('fs.read'), t1))).code).toBe('AUTHZ_PEER_REQUIRED');
    const off = setup({ peer_binding: 'off' });
    const t2 = off.id.mint({ scope: ['fs.read'] }).token;
    allowed(await off.check(checkRequest({ ...mcp('fs.read'), principal: agentId('z') }, t2)));
  });
});

describe('authz pipeline: policy hook and ledger', () => {
  it('a policy deny carries its code, status and revision; the policy sees the chain summary', async () => {
    let seen: unknown;
    const policy: HookDecider = {
      decide: async (ctx) => {
        seen = ctx;
        return {
          allow: false,
          code: 'POLICY_DENIED',
          reason: 'weekend',
          httpStatus: 451,
          policyRev: 'rev-9',
        };
      },
    };
    const s = setup({}, policy);
    const { token } = s.id.mint({ scope: ['fs.read'] });
    const d = denied(await s.check(checkRequest(mcp('fs.read'), token)));
    expect([d.status, d.code, d.body.error]).toEqual([451, 'POLICY_DENIED', 'weekend']);
    expect(s.records[0]).toMatchObject({ code: 'POLICY_DENIED', policy_rev: 'rev-9' });
    expect(seen).toMatchObject({
      tools: ['fs.read'],
      toolSource: 'mcp',
      chain: { depth: 1, task_id: 'task-1' },
    });
  });

  it('a policy cannot widen the cached chain by mutating what it is given', async () => {
    let attempts = 0;
    const policy: HookDecider = {
      decide: async (ctx) => {
        try {
          (ctx.chain!.tool_scope as string[]).push('*');
        } catch {
          attempts++;
        }
        return { allow: true };
      },
    };
    const s = setup({}, policy);
    const { token } = s.id.mint({ scope: ['fs.read'] });
    allowed(await s.check(checkRequest(mcp('fs.read'), token)));
    expect(denied(await s.check(checkRequest(mcp('shell.exec'), token))).code).toBe(
      'AUTHZ_TOOL_NOT_IN_SCOPE',
    );
    expect(attempts).toBe(1);
  });

  it("a policy header it both sets and removes keeps Envoy's order (removed), unlike SIGIL's own", async () => {
    const policy: HookDecider = {
      decide: async () => ({ allow: true, headers: { 'x-team': 'blue' }, headersToRemove: ['x-team'] }),
    };
    const s = setup({}, policy);
    const { token } = s.id.mint({ scope: ['fs.*'] });
    const a = allowed(await s.check(checkRequest(mcp('fs.read'), token)));
    expect(a.upstream['x-team']).toBe('blue');
    expect(a.remove).toContain('x-team');
  });

  it('a policy allow adds its headers but can never set x-sigil-* ones, nor malformed ones', async () => {
    const policy: HookDecider = {
      decide: async () => ({
        allow: true,
        headers: {
          'x-team': 'blue',
          'x-sigil-sub': 'forged',
          'x-bad': 'a\r\nset-cookie: x',
          'bad name': 'v',
        },
      }),
    };
    const s = setup({}, policy);
    const { token } = s.id.mint({ scope: ['fs.read'] });
    const a = allowed(await s.check(checkRequest(mcp('fs.read'), token)));
    expect(a.upstream['x-team']).toBe('blue');
    expect(a.upstream['x-bad']).toBeUndefined();
    expect(a.upstream['bad name']).toBeUndefined();
    expect(a.upstream['x-sigil-sub']).toBe(agentId('orchestrator'));
  });

  it('a policy allow with malformed header lists → deny AUTHZ_POLICY_ERROR (fail closed)', async () => {
    for (const bad of [
      { headersToRemove: 'authorization' },
      { headersToRemove: 5 },
      { responseHeadersToAdd: 'x-a: b' },
      { responseHeadersToAdd: { key: 'x-a', value: 'b' } },
    ]) {
      const s = setup({}, { decide: async () => ({ allow: true, ...bad }) as unknown as HookVerdict });
      const { token } = s.id.mint({ scope: ['fs.read'] });
      expect(denied(await s.check(checkRequest(mcp('fs.read'), token))).code, JSON.stringify(bad)).toBe(
        'AUTHZ_POLICY_ERROR',
      );
    }
  });

  it('a throwing or hanging policy → deny AUTHZ_POLICY_ERROR (fail closed)', async () => {
    const throwing = setup(
      {},
      {
        decide: async () => {
          throw new Error('boom');
        },
      },
    );
    const t1 = throwing.id.mint({ scope: ['fs.read'] }).token;
    expect(denied(await throwing.check(checkRequest(mcp('fs.read'), t1))).code).toBe('AUTHZ_POLICY_ERROR');
    const hanging = setup({}, { decide: () => new Promise(() => {}) });
    const t2 = hanging.id.mint({ scope: ['fs.read'] }).token;
    const d = denied(await hanging.check(checkRequest(mcp('fs.read'), t2)));
    expect([d.status, d.code]).toEqual([503, 'AUTHZ_POLICY_ERROR']);
  });

  it('a ledger that cannot record turns an allow into 503 AUTHZ_LEDGER_UNAVAILABLE', async () => {
    const broken: DecisionSink = {
      append: async () => {
        throw new Error('disk full');
      },
    };
    const s = setup({}, undefined, broken);
    const { token } = s.id.mint({ scope: ['fs.read'] });
    const d = denied(await s.check(checkRequest(mcp('fs.read'), token)));
    expect([d.status, d.code]).toEqual([503, 'AUTHZ_LEDGER_UNAVAILABLE']);
  });

  it('the record is appended before the answer resolves', async () => {
    const order: string[] = [];
    const slow: DecisionSink = {
      append: async (r: DecisionRecord) => {
        await new Promise((res) => setTimeout(res, 20));
        order.push(`ledger:${r.decision}`);
        return { index: 0, receipt: 'index=0' };
      },
    };
    const s = setup({}, undefined, slow);
    const { token } = s.id.mint({ scope: ['fs.read'] });
    await s.check(checkRequest(mcp('fs.read'), token)).then(() => order.push('answer'));
    expect(order).toEqual(['ledger:allow', 'answer']);
  });
});
