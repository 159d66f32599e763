/**
 * The admin API over a real socket (the authz engineer's admin server with the handler mounted), backed by a real
 * LMDB ledger and the real token verifier. Security is judged by what it refuses: every case asserts the CODE.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminApiHandler, createAdminApi } from '../../src/admin/index.js';
import { type AdminServer, startAdminServer } from '../../src/admin/server.js';
import { leafHash, MerkleLog, openCheckpoint, verifyInclusion } from '../../src/ledger/index.js';
import type { DecisionRecord } from '../../src/ledger/record.js';
import { frozenClock, systemClock } from '../../src/lib/clock.js';
import { agentId, testIdentity } from '../support/identity.js';
import { MALFORMED_TOKENS } from '../token/malformed.js';

const TOKEN = 'api-test-admin-token-abcdefghijkl';
const clock = frozenClock(Date.UTC(2026, 10, 27, 9, 0, 0));
const id = testIdentity();
let dir: string;
let log: MerkleLog;
let server: AdminServer;
let api: AdminApiHandler;
let staticDir: string;
const secretsSeen: string[] = [];

const rec = (i: number, over: Partial<DecisionRecord> = {}): DecisionRecord => ({
  v: 1,
  id: `d-${i}`,
  ts: clock.nowMs() + i * 1000,
  decision: i % 3 === 0 ? 'deny' : 'allow',
  code: i % 3 === 0 ? 'AUTHZ_TOOL_NOT_IN_SCOPE' : 'OK',
  http_status: i % 3 === 0 ? 403 : 200,
  sub: agentId(i % 2 ? 'a' : 'b'),
  task_id: i % 4 === 0 ? 'task-x' : 'task-y',
  tool: 'fs.read',
  chain: [
    {
      sub: agentId(i % 2 ? 'a' : 'b'),
      iss: 'spiffe://sigil.mesh/sigil/issuer',
      jti: `j${i}`,
      tool_scope: ['fs.*'],
      exp: 1,
    },
  ],
  token_hash: `h${i}`,
  ...over,
});

async function req(path: string, init: RequestInit & { auth?: string | null } = {}) {
  const headers = new Headers(init.headers);
  const auth = init.auth === undefined ? TOKEN : init.auth;
  if (auth !== null) headers.set('authorization', `Bearer ${auth}`);
  const res = await fetch(`${server.url}${path}`, { ...init, headers });
  const text = await res.text();
  secretsSeen.push(text);
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // static files
  }
  return { status: res.status, headers: res.headers, json, text };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sigil-admin-api-'));
  log = await MerkleLog.open(join(dir, 'ledger'), { origin: 'sigil.mesh/sigil/audit' });
  for (let i = 0; i < 30; i++) await log.appendDecision(rec(i));
  staticDir = join(dir, 'ui');
  mkdirSync(join(staticDir, 'assets'), { recursive: true });
  writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>x</title>');
  writeFileSync(join(staticDir, 'assets', 'app-1.js'), 'console.log(1)');
  writeFileSync(join(dir, 'secret.txt'), 'TOP-SECRET');
  api = createAdminApi({
    adminToken: TOKEN,
    ledger: log,
    // Tokens are minted on the real clock; the frozen one drives sessions.
    tokens: { trust: id.trust, clock: systemClock },
    dashboardDir: staticDir,
    clock,
    sessionTtlMs: 60_000,
    maxStreams: 2,
    heartbeatMs: 200,
  });
  server = await startAdminServer({ listen: '127.0.0.1:0', registry: new Registry(), isReady: () => true });
  server.mount(api);
});

afterAll(async () => {
  api?.close();
  await server?.close();
  await log?.close();
  rmSync(dir, { recursive: true, force: true });
});

const GETS = [
  '/api/status',
  '/api/decisions',
  '/api/graph',
  '/api/checkpoint',
  '/api/verifier-key',
  '/api/proof/0',
  '/api/policy',
  '/api/events',
];
const POSTS = ['/api/verify-token', '/api/policy/eval', '/api/policy/bundle', '/api/session'];

describe('admin API authentication', () => {
  it('refuses every endpoint without, or with a wrong, admin credential', async () => {
    for (const p of GETS) {
      for (const auth of [null, 'wrong-token-wrong-token', `${TOKEN}x`, TOKEN.slice(0, -1), '']) {
        const r = await req(p, { auth });
        expect(r.status, `${p} ${auth}`).toBe(401);
        expect(r.json.code).toBe('ADMIN_UNAUTHORIZED');
      }
    }
    for (const p of POSTS) {
      const r = await req(p, {
        method: 'POST',
        auth: null,
        body: '{}',
        headers: { 'content-type': 'application/json' },
      });
      expect(r.status, p).toBe(401);
    }
    const basic = await req('/api/status', {
      auth: null,
      headers: { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` },
    });
    expect(basic.json.code).toBe('ADMIN_UNAUTHORIZED');
  });

  it('a session cookie (for EventSource) reads but never writes, and expires', async () => {
    const login = await req('/api/session', { method: 'POST' });
    expect(login.status).toBe(204);
    const setCookie = login.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Path=\/api/);
    const cookie = setCookie.split(';')[0]!;
    expect(cookie).not.toContain(TOKEN);
    const read = await req('/api/status', { auth: null, headers: { cookie } });
    expect(read.status).toBe(200);
    for (const p of ['/api/verify-token', '/api/policy/eval', '/api/policy/bundle']) {
      const w = await req(p, {
        method: 'POST',
        auth: null,
        headers: { cookie, 'content-type': 'application/json' },
        body: '{"token":"x"}',
      });
      expect(w.status, p).toBe(401);
      expect(w.json.code, p).toBe('ADMIN_BEARER_REQUIRED');
    }
    // A cookie cannot mint another session either.
    const again = await req('/api/session', { method: 'POST', auth: null, headers: { cookie } });
    expect(again.json.code).toBe('ADMIN_BEARER_REQUIRED');
    clock.advance(61_000);
    const expired = await req('/api/status', { auth: null, headers: { cookie } });
    expect(expired.json.code).toBe('ADMIN_UNAUTHORIZED');
    const forged = await req('/api/status', {
      auth: null,
      headers: { cookie: 'sigil_admin_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
    });
    expect(forged.json.code).toBe('ADMIN_UNAUTHORIZED');
  });

  it('logout ends the session', async () => {
    const cookie = (await req('/api/session', { method: 'POST' })).headers.get('set-cookie')!.split(';')[0]!;
    expect((await req('/api/status', { auth: null, headers: { cookie } })).status).toBe(200);
    expect((await req('/api/session', { method: 'DELETE', auth: null, headers: { cookie } })).status).toBe(
      204,
    );
    expect((await req('/api/status', { auth: null, headers: { cookie } })).json.code).toBe(
      'ADMIN_UNAUTHORIZED',
    );
  });

  it('refuses an admin token shorter than 16 characters at construction', () => {
    expect(() => createAdminApi({ adminToken: 'short' })).toThrowError(
      expect.objectContaining({ code: 'ADMIN_BAD_REQUEST' }),
    );
  });
});

describe('admin API input validation', () => {
  const bad: [string, string, number][] = [
    ['limit 0', '/api/decisions?limit=0', 400],
    ['limit text', '/api/decisions?limit=ten', 400],
    ['limit huge', '/api/decisions?limit=100000', 400],
    ['limit negative', '/api/decisions?limit=-1', 400],
    ['decision unknown', '/api/decisions?decision=maybe', 400],
    ['since garbage', '/api/decisions?since=yesterday', 400],
    ['since rolled-over date', '/api/decisions?since=2026-02-30', 400],
    ['since local time', '/api/decisions?since=2026-01-01T00:00:00', 400],
    ['since after until', '/api/decisions?since=2000&until=1000', 400],
    ['task twice', '/api/decisions?task=a&task=b', 400],
    ['task too long', `/api/decisions?task=${'x'.repeat(2000)}`, 400],
    ['before text', '/api/decisions?before=x', 400],
    ['proof index text', '/api/proof/abc', 400],
    ['proof index negative', '/api/proof/-1', 400],
    ['proof index exponent', '/api/proof/1e3', 400],
    ['proof index huge', '/api/proof/99999999999999999999', 400],
    ['proof past the end', '/api/proof/30', 404],
    ['proof bad escape', '/api/proof/%E0%A4%A', 400],
    ['proof encoded digits', '/api/proof/%31', 400],
    ['unknown endpoint', '/api/keys', 404],
    ['api root', '/api', 404],
  ];
  for (const [name, path, status] of bad) {
    it(`${name} → ${status}`, async () => {
      const r = await req(path);
      expect(r.status).toBe(status);
      expect(r.json.code).toBe(status === 400 ? 'ADMIN_BAD_REQUEST' : 'ADMIN_NOT_FOUND');
    });
  }

  it('wrong methods → 405', async () => {
    expect((await req('/api/decisions', { method: 'POST' })).json.code).toBe('ADMIN_METHOD_NOT_ALLOWED');
    expect((await req('/api/verify-token')).json.code).toBe('ADMIN_METHOD_NOT_ALLOWED');
    expect((await req('/api/proof/1', { method: 'DELETE' })).json.code).toBe('ADMIN_METHOD_NOT_ALLOWED');
  });

  it('verify-token refuses bad bodies with their codes', async () => {
    const post = (body: string, type = 'application/json') =>
      req('/api/verify-token', { method: 'POST', body, headers: { 'content-type': type } });
    expect((await post('{"token":"x"}', 'text/plain')).json.code).toBe('ADMIN_UNSUPPORTED_MEDIA_TYPE');
    expect((await post('{"token":')).json.code).toBe('ADMIN_BAD_REQUEST');
    expect((await post('[]')).json.code).toBe('ADMIN_BAD_REQUEST');
    expect((await post('{"token":42}')).json.code).toBe('ADMIN_BAD_REQUEST');
    expect((await post('{}')).json.code).toBe('ADMIN_BAD_REQUEST');
    const big = await post(JSON.stringify({ token: 'a'.repeat(70_000) }));
    expect(big.status).toBe(413);
    expect(big.json.code).toBe('ADMIN_BODY_TOO_LARGE');
    // Without a Content-Length (chunked), the limit is enforced while reading and the 413 still arrives.
    const chunks = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 20; i++) c.enqueue(new Uint8Array(8192).fill(0x61));
        c.close();
      },
    });
    const chunked = await fetch(`${server.url}/api/verify-token`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: chunks,
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(((await chunked.json()) as { code: string }).code).toBe('ADMIN_BODY_TOO_LARGE');
  });

  it('every entry of the shared malformed-token table is reported invalid with its code, never a crash', async () => {
    for (const m of MALFORMED_TOKENS) {
      if (typeof m.token !== 'string' || m.token.length === 0 || m.token.length > 60_000) continue;
      const r = await req('/api/verify-token', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: m.token }),
      });
      expect(r.status, m.name).toBe(200);
      expect(r.json.valid, m.name).toBe(false);
      expect(r.json.code, m.name).toMatch(/^TBIT_/);
    }
  });

  it('without a policy engine the view shows the built-in policy; the other policy endpoints answer ADMIN_UNAVAILABLE', async () => {
    const info = await req('/api/policy');
    expect([info.status, info.json.builtin, info.json.source]).toEqual([200, true, 'builtin']);
    const r = await req('/api/policy/eval', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"input":{}}',
    });
    expect(r.status).toBe(503);
    expect(r.json.code).toBe('ADMIN_UNAVAILABLE');
  });
});

describe('admin API answers', () => {
  it('decisions: newest first, filtered, paged with next_before', async () => {
    const all = await req('/api/decisions?limit=1000');
    const items = all.json.items as { index: number; record: DecisionRecord }[];
    expect(items.map((i) => i.index)).toEqual([...Array(30).keys()].reverse());
    const deny = await req('/api/decisions?decision=deny&task=task-x');
    const d = deny.json.items as { index: number; record: DecisionRecord }[];
    expect(d.length).toBeGreaterThan(0);
    expect(d.every((i) => i.record.decision === 'deny' && i.record.task_id === 'task-x')).toBe(true);
    const code = await req('/api/decisions?code=AUTHZ_TOOL_NOT_IN_SCOPE&limit=3');
    expect((code.json.items as unknown[]).length).toBe(3);
    // Paging backwards covers everything exactly once.
    const seen: number[] = [];
    let before: number | null = null;
    do {
      const page = await req(`/api/decisions?limit=7${before === null ? '' : `&before=${before}`}`);
      seen.push(...(page.json.items as { index: number }[]).map((i) => i.index));
      before = page.json.next_before as number | null;
    } while (before !== null);
    expect(seen).toEqual([...Array(30).keys()].reverse());
    const byAgent = await req(`/api/decisions?agent=${encodeURIComponent(agentId('a'))}&limit=1000`);
    expect(
      (byAgent.json.items as { record: DecisionRecord }[]).every((i) => i.record.sub === agentId('a')),
    ).toBe(true);
  });

  it('proof: the entry, its inclusion path and a signed checkpoint that verify with the verifier key alone', async () => {
    const key = (await req('/api/verifier-key')).json.key as string;
    const p = (await req('/api/proof/17')).json as {
      index: number;
      size: number;
      entry: string;
      proof: string[];
      checkpoint: string;
    };
    const cp = openCheckpoint(p.checkpoint, key);
    expect(cp.size).toBe(p.size);
    const entry = new Uint8Array(Buffer.from(p.entry, 'base64'));
    const path = p.proof.map((h) => new Uint8Array(Buffer.from(h, 'base64')));
    expect(verifyInclusion(leafHash(entry), 17, cp.size, path, cp.root)).toBe(true);
    expect(verifyInclusion(leafHash(entry), 16, cp.size, path, cp.root)).toBe(false);
    // A checkpoint made before a newer entry is refreshed so that it covers it.
    await log.appendDecision(rec(30));
    const q = (await req('/api/proof/30')).json as { size: number; checkpoint: string };
    expect(openCheckpoint(q.checkpoint, key).size).toBe(31);
  });

  it('graph: task → holders → delegations with the narrowed scope and counts', async () => {
    const g = (await req('/api/graph?task=task-x')).json as {
      nodes: { id: string; allow: number; deny: number }[];
      tasks: string[];
    };
    expect(g.tasks).toEqual(['task-x', 'task-y']);
    expect(g.nodes.map((n) => n.id).sort()).toEqual(['agent:spiffe://sigil.mesh/agent/b/i1', 'task:task-x']);
  });

  it('never returns private keys or raw tokens', async () => {
    const { token } = id.mint({ scope: ['fs.read'], aud: 'spiffe://sigil.mesh' });
    const r = await req('/api/verify-token', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    });
    expect(r.json.valid).toBe(true);
    expect(r.text).not.toContain(token.split('.')[2]!);
    // The checkpoint private key (JWK "d") never leaves the data dir.
    const keyDir = join(dir, 'ledger', 'keys');
    const d = readdirSync(keyDir)
      .map((f) => (JSON.parse(readFileSync(join(keyDir, f), 'utf8')) as { d?: string }).d)
      .filter(Boolean) as string[];
    expect(d.length).toBeGreaterThan(0);
    for (const t of secretsSeen) {
      for (const secret of d) expect(t).not.toContain(secret);
      expect(t).not.toContain(TOKEN);
      expect(t).not.toMatch(/"d"\s*:/);
    }
  });
});

describe('admin API live events', () => {
  it('streams each new decision once, and caps the number of streams', async () => {
    const ctrl = new AbortController();
    const res = await fetch(`${server.url}/api/events`, {
      headers: { authorization: `Bearer ${TOKEN}` },
      signal: ctrl.signal,
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    const { index } = await log.appendDecision(rec(31, { id: 'live-1' }));
    let text = '';
    while (!text.includes('live-1')) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toContain(`id: ${index}\nevent: decision\ndata: {"index":${index},`);
    // maxStreams = 2: a second fits, a third is refused.
    const ctrl2 = new AbortController();
    const second = await fetch(`${server.url}/api/events`, {
      headers: { authorization: `Bearer ${TOKEN}` },
      signal: ctrl2.signal,
    });
    expect(second.status).toBe(200);
    const third = await req('/api/events');
    expect(third.status).toBe(503);
    expect(third.json.code).toBe('ADMIN_TOO_MANY_STREAMS');
    ctrl.abort();
    ctrl2.abort();
    // Once every stream is gone the API stops listening to the ledger; a new stream listens again.
    await new Promise((r) => setTimeout(r, 200));
    const ctrl3 = new AbortController();
    const again = await fetch(`${server.url}/api/events`, {
      headers: { authorization: `Bearer ${TOKEN}` },
      signal: ctrl3.signal,
    });
    expect(again.status).toBe(200);
    const r3 = again.body!.getReader();
    await log.appendDecision(rec(32, { id: 'live-2' }));
    let t3 = '';
    while (!t3.includes('live-2')) t3 += new TextDecoder().decode((await r3.read()).value);
    expect(t3.match(/live-2/g)).toHaveLength(1);
    ctrl3.abort();
  });
});

describe('admin API under load', () => {
  it('the graph window picks up new decisions incrementally', async () => {
    const before = (await req('/api/graph')).json as { tasks: string[] };
    expect(before.tasks).not.toContain('task-z');
    await log.appendDecision(rec(40, { task_id: 'task-z' }));
    const after = (await req('/api/graph?task=task-z')).json as { tasks: string[]; nodes: { id: string }[] };
    expect(after.tasks).toContain('task-z');
    expect(after.nodes.map((n) => n.id)).toContain('task:task-z');
  });

  it('live events are capped per second; the rest is reported as skipped, nothing is lost silently', async () => {
    const ctrl = new AbortController();
    const res = await fetch(`${server.url}/api/events`, {
      headers: { authorization: `Bearer ${TOKEN}` },
      signal: ctrl.signal,
    });
    const reader = res.body!.getReader();
    await Promise.all(
      Array.from({ length: 300 }, (_, i) => log.appendDecision(rec(100 + i, { id: `burst-${i}` }))),
    );
    let text = '';
    const count = () => {
      const sent = (text.match(/event: decision/g) ?? []).length;
      const skipped = [...text.matchAll(/event: skipped\ndata: (\{[^\n]*\})/g)].reduce(
        (n, m) => n + (JSON.parse(m[1]!) as { count: number }).count,
        0,
      );
      return { sent, skipped };
    };
    while (count().sent + count().skipped < 300)
      text += new TextDecoder().decode((await reader.read()).value);
    const { sent, skipped } = count();
    expect(sent).toBeLessThanOrEqual(200);
    expect(skipped).toBeGreaterThanOrEqual(100);
    expect(sent + skipped).toBe(300);
    ctrl.abort();
  });
});

describe('static dashboard files', () => {
  it('serves the built files with a strict CSP, and nothing outside them', async () => {
    const index = await req('/', { auth: null });
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(index.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect((await req('/assets/app-1.js', { auth: null })).headers.get('cache-control')).toContain(
      'immutable',
    );
    for (const p of [
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/assets/../../secret.txt',
      '/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/secret.txt',
      '/index.html%00.js',
    ]) {
      const r = await req(p, { auth: null });
      expect(r.status, p).toBe(404);
      expect(r.text, p).not.toContain('TOP-SECRET');
    }
    expect((await req('/', { method: 'POST', auth: null })).status).toBe(404);
  });
});
