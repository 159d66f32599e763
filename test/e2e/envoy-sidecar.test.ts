/**
 * End to end through a real Envoy 1.40: client → Envoy (ext_authz, envoy/sidecar.yaml) → `sigil serve`
 * (child process) → echo upstream. Asserted over HTTP only; afterwards the ledger is read back and
 * `sigil audit verify` must pass.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MerkleLog } from '../../src/ledger/index.js';
import { type EnvoyProcess, startTestEnvoy } from '../support/envoy.js';
import { issuerFor, runSigilCli, type SigilProcess, startSigilProcess } from '../support/sigil-process.js';
import { type EchoUpstream, startEchoUpstream } from '../support/upstream.js';
import { MALFORMED_TOKENS } from '../token/malformed.js';

const SELF = 'spiffe://sigil.mesh/agent/tools/e2e';
const ORCH = 'spiffe://sigil.mesh/agent/orchestrator/e2e';
const WORKER = 'spiffe://sigil.mesh/agent/worker/e2e';
const ADMIN_TOKEN = 'e2e-admin-token-0123456789';

let upstream: EchoUpstream;
let sigil: SigilProcess;
let envoy: EnvoyProcess;
let issuer: Awaited<ReturnType<typeof issuerFor>>;
const decisionIds: string[] = [];

beforeAll(async () => {
  upstream = await startEchoUpstream();
  sigil = await startSigilProcess({
    agent: { spiffe_id: SELF },
    validator: { clock_skew: 0 },
    admin: { token: ADMIN_TOKEN },
    authz: {
      routes: [{ method: 'POST', path: '/tools/{name}', tool: '{name}' }],
      public_routes: [{ method: 'GET', path: '/public/**' }],
    },
  });
  envoy = await startTestEnvoy(sigil.authzPort, upstream.port);
  issuer = await issuerFor(sigil.config);
  issuer.stores.keys.agents.ensure(ORCH);
  issuer.stores.keys.agents.ensure(WORKER);
});

afterAll(async () => {
  issuer?.close();
  await envoy?.stop();
  await sigil?.dispose();
  await upstream?.close();
});

function mint(scope: string[], ttl = 120, sub = ORCH): string {
  return issuer.service.mint({ sub, task_id: 'task-e2e', tool_scope: scope, aud: SELF, ttl }, issuer.operator)
    .token;
}

async function call(path: string, init: RequestInit & { token?: string } = {}) {
  const headers = new Headers(init.headers);
  if (init.token) headers.set('authorization', `Bearer ${init.token}`);
  const res = await fetch(`${envoy.url}${path}`, { method: 'POST', ...init, headers });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Envoy's own error bodies are plain text.
  }
  const id = res.headers.get('x-sigil-decision-id');
  if (id) decisionIds.push(id);
  return { status: res.status, headers: res.headers, json, text };
}

const mcpBody = (name: string) =>
  JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: { q: 'x' } } });

describe('Envoy → SIGIL → upstream', () => {
  it('no token → 401 with a Bearer challenge and a JSON error body', async () => {
    const r = await call('/tools/fs.read');
    expect(r.status).toBe(401);
    expect(r.json.code).toBe('AUTHZ_NO_TOKEN');
    expect(r.headers.get('www-authenticate')).toContain('Bearer');
    expect(r.json.decision_id).toBe(r.headers.get('x-sigil-decision-id'));
  });

  it('valid token → 200; the upstream saw the identity headers, not the bearer token; the caller got a receipt', async () => {
    const before = upstream.seen.length;
    const r = await call('/tools/fs.read', {
      token: mint(['fs.*']),
      headers: { 'x-sigil-sub': 'spiffe://evil/x', 'x-sigil-admin': '1', 'x-sigil-receipt': 'fake' },
    });
    expect(r.status).toBe(200);
    const seen = upstream.seen[before]!;
    // A client-sent receipt is overwritten by SIGIL's, not stripped with it (docs/authz.md §6).
    expect(seen.headers['x-sigil-receipt']).toBe(r.headers.get('x-sigil-receipt'));
    expect(seen.headers['x-sigil-sub']).toBe(ORCH);
    expect(seen.headers['x-sigil-task-id']).toBe('task-e2e');
    expect(seen.headers['x-sigil-depth']).toBe('1');
    expect(seen.headers['x-sigil-tool']).toBe('fs.read');
    expect(seen.headers['x-sigil-decision-id']).toBe(r.headers.get('x-sigil-decision-id'));
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers['x-sigil-admin']).toBeUndefined();
    expect(r.headers.get('x-sigil-receipt')).toMatch(/^index=\d+; leaf=[A-Za-z0-9_-]{43}; origin=/);
  });

  it('out-of-scope tool → 403 AUTHZ_TOOL_NOT_IN_SCOPE, and the upstream never sees it', async () => {
    const before = upstream.seen.length;
    const r = await call('/tools/shell.exec', { token: mint(['fs.*']) });
    expect([r.status, r.json.code]).toEqual([403, 'AUTHZ_TOOL_NOT_IN_SCOPE']);
    expect(upstream.seen.length).toBe(before);
  });

  it('narrowed delegation → allowed only within the narrowed scope', async () => {
    const root = mint(['fs.*', 'search.*']);
    const child = issuer.service.delegate({ token: root, to: WORKER, tool_scope: ['fs.read'] }).token;
    const ok = await call('/tools/fs.read', { token: child });
    expect(ok.status).toBe(200);
    expect(upstream.seen.at(-1)!.headers['x-sigil-sub']).toBe(WORKER);
    expect(upstream.seen.at(-1)!.headers['x-sigil-depth']).toBe('2');
    const wider = await call('/tools/search.web', { token: child });
    expect([wider.status, wider.json.code]).toEqual([403, 'AUTHZ_TOOL_NOT_IN_SCOPE']);
    expect((await call('/tools/search.web', { token: root })).status).toBe(200);
  });

  it('forged token → 401; expired token → 401 TBIT_EXPIRED', async () => {
    const good = mint(['fs.*']);
    const forged = `${good.slice(0, good.lastIndexOf('.') + 1)}${'A'.repeat(86)}`;
    const f = await call('/tools/fs.read', { token: forged });
    expect(f.status).toBe(401);
    expect(String(f.json.code)).toMatch(/^TBIT_/);
    const short = mint(['fs.*'], 1);
    await new Promise((r) => setTimeout(r, 2100));
    const e = await call('/tools/fs.read', { token: short });
    expect([e.status, e.json.code]).toEqual([401, 'TBIT_EXPIRED']);
  });

  it('every header-safe entry of the shared malformed-token table → 401 with the token module code', async () => {
    const safe = MALFORMED_TOKENS.filter(
      (m) => typeof m.token === 'string' && /^[A-Za-z0-9\-._~+/]+=*$/.test(m.token) && m.token.length < 8192,
    );
    expect(safe.length).toBeGreaterThan(10);
    for (const m of safe) {
      const r = await call('/tools/fs.read', { token: m.token as string });
      expect([m.name, r.status, r.json.code]).toEqual([m.name, 401, m.code]);
    }
  });

  it('MCP tools/call: in scope → 200 with the body forwarded; out of scope → 403', async () => {
    const token = mint(['search.*']);
    const ok = await call('/mcp', {
      token,
      body: mcpBody('search.web'),
      headers: { 'content-type': 'application/json' },
    });
    expect(ok.status).toBe(200);
    expect(upstream.seen.at(-1)!.body).toBe(mcpBody('search.web'));
    expect(upstream.seen.at(-1)!.headers['x-sigil-tool']).toBe('search.web');
    const bad = await call('/mcp', {
      token,
      body: mcpBody('fs.delete'),
      headers: { 'content-type': 'application/json' },
    });
    expect([bad.status, bad.json.code]).toEqual([403, 'AUTHZ_TOOL_NOT_IN_SCOPE']);
  });

  it('an MCP body larger than with_request_body.max_request_bytes arrives partial → 413 AUTHZ_BODY_PARTIAL', async () => {
    const token = mint(['search.*']);
    const big = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'search.web', arguments: { pad: 'x'.repeat(1_200_000) } },
    });
    const r = await call('/mcp', { token, body: big, headers: { 'content-type': 'application/json' } });
    expect([r.status, r.json.code]).toEqual([413, 'AUTHZ_BODY_PARTIAL']);
  });

  it('a public route passes without a token', async () => {
    const r = await call('/public/info', { method: 'GET' });
    expect(r.status).toBe(200);
  });

  it('/metrics counts the decisions and /ready is true', async () => {
    const m = await (await fetch(`${sigil.adminUrl}/metrics`)).text();
    expect(m).toMatch(/sigil_decisions_total\{result="deny",code="AUTHZ_TOOL_NOT_IN_SCOPE"\} [1-9]/);
    expect(m).toMatch(/sigil_chain_cache_total\{result="hit"\} [1-9]/);
    expect((await fetch(`${sigil.adminUrl}/ready`)).status).toBe(200);
  });

  it('sigil serve mounts the dashboard API on the admin server (bearer admin token), reading the same ledger', async () => {
    expect((await fetch(`${sigil.adminUrl}/api/decisions?limit=5`)).status).toBe(401);
    const r = await fetch(`${sigil.adminUrl}/api/decisions?limit=100`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(r.status).toBe(200);
    const j = (await r.json()) as { items: { record: { id: string } }[]; size: number };
    // Denies without a verified token are aggregated (docs/ledger.md §4): fewer entries than decisions.
    expect(j.size).toBeGreaterThan(0);
    expect(j.size).toBeLessThan(decisionIds.length);
    // The newest decision (an allow: its own entry) is there, though LMDB trails the journal by
    // commit_delay_ms (100 ms): the first page reads its own writes. Aggregates may have been written after it.
    expect(j.items.map((i) => i.record.id)).toContain(decisionIds.at(-1));
  });

  it('SIGIL stopped → Envoy fails closed with status_on_error 503; every decision is in the ledger; audit verify passes', async () => {
    const token = mint(['fs.*']);
    expect(await sigil.stop('SIGTERM')).toBe(0);
    const before = upstream.seen.length;
    const r = await call('/tools/fs.read', { token });
    expect(r.status).toBe(503);
    expect(upstream.seen.length).toBe(before);

    const log = await MerkleLog.open(join(sigil.dataDir, 'ledger'), { readOnly: true });
    try {
      // Every Check that went through Envoy is in the ledger (the 503 above never reached SIGIL): a verified
      // caller's as its own record, a deny without a verified token in an aggregate (written at SIGTERM at the
      // latest) whose id is one of them and whose counts add up (docs/ledger.md §4).
      const ids = new Set(decisionIds);
      let single = 0;
      let aggregated = 0;
      for (const { record: r } of log.query({ limit: 10_000 })) {
        expect(ids.has(r.id)).toBe(true);
        if (r.kind === 'aggregate') aggregated += r.count!;
        else single++;
        expect(r.kind).not.toBe('dropped');
      }
      expect(decisionIds.length).toBeGreaterThan(20);
      expect(single).toBeGreaterThan(5);
      expect(aggregated).toBeGreaterThan(5);
      expect(single + aggregated).toBe(decisionIds.length);
    } finally {
      await log.close();
    }
    const v = await runSigilCli(sigil.configFile, ['audit', 'verify']);
    expect(v.code, v.stderr).toBe(0);
  }, 90_000);
});
