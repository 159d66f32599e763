/**
 * The audit timeline's server side over a real socket and a real LMDB ledger: the histogram over the whole log
 * equals a brute-force count of the records for random ranges and filters (a fast-check property), the
 * non-indexed filters (tool, code, token hash, decision id), batched inclusion proofs and consistency proofs
 * that verify with the verifier key alone, and every admin error path with the status docs/api.md documents.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminApiHandler, createAdminApi } from '../../src/admin/index.js';
import { type AdminServer, startAdminServer } from '../../src/admin/server.js';
import {
  type LedgerRecord,
  leafHash,
  MerkleLog,
  openCheckpoint,
  verifyConsistency,
  verifyInclusion,
} from '../../src/ledger/index.js';
import type { DecisionRecord } from '../../src/ledger/record.js';
import { frozenClock } from '../../src/lib/clock.js';
import { EXAMPLES } from '../ledger/lifecycle-examples.js';

const TOKEN = 'audit-api-test-admin-token-abcdef';
const T0 = Date.UTC(2026, 10, 27, 9, 0, 0);
const clock = frozenClock(T0 + 3_600_000);
const N = 3000;
const TOOLS = ['fs.read', 'fs.write', 'search.web'];
const agent = (n: number) => `spiffe://sigil.mesh/agent/w/${n}`;
let dir: string;
let log: MerkleLog;
let server: AdminServer;
let api: AdminApiHandler;
/** Every stored record by index (the brute force's truth). */
const truth: LedgerRecord[] = [];

/** A deterministic pseudo-random sequence (xorshift), so failures reproduce. */
function rng(seed: number) {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

async function get(path: string) {
  const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  // biome-ignore lint/suspicious/noExplicitAny: the cases read several answer shapes; the assertions check them.
  const json = (await res.json()) as Record<string, any>;
  return { status: res.status, json };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sigil-audit-api-'));
  log = await MerkleLog.open(join(dir, 'ledger'), { origin: 'sigil.mesh/sigil/audit' });
  const r = rng(2024);
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < N; i++) {
    // Times mostly increase but jitter back and forth by up to 3 s (concurrent Checks append out of order),
    // with sub-second parts so partly covered seconds matter.
    const ts = T0 + i * 997 + Math.floor((r() - 0.5) * 6000);
    if (i % 97 === 0) {
      const e = { ...EXAMPLES['token.mint'], ts, sub: agent(i % 7), task_id: `task-${i % 3}` };
      truth.push(e);
      pending.push(log.appendLifecycle(e));
      continue;
    }
    const deny = r() < 0.35;
    const rec: DecisionRecord = {
      v: 1,
      id: `dec-${i}`,
      ts,
      decision: deny ? 'deny' : 'allow',
      code: deny ? (r() < 0.5 ? 'AUTHZ_TOOL_NOT_IN_SCOPE' : 'POLICY_DENIED') : 'OK',
      http_status: deny ? 403 : 200,
      sub: agent(i % 7),
      task_id: `task-${i % 3}`,
      tool: r() < 0.1 ? 'fs.read,fs.write' : (TOOLS[i % 3] as string),
      chain: [
        {
          sub: agent(100 + (i % 2)),
          iss: 'spiffe://sigil.mesh/sigil/issuer',
          jti: `r${i}`,
          tool_scope: ['*'],
          exp: 1,
        },
        { sub: agent(i % 7), iss: agent(100 + (i % 2)), jti: `l${i}`, tool_scope: ['fs.*'], exp: 1 },
      ],
      token_hash: `tok-${i % 11}`,
    };
    truth.push(rec);
    pending.push(log.appendDecision(rec));
    // Several commits, so postings are both stored and pending.
    if (i % 500 === 499) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  api = createAdminApi({ adminToken: TOKEN, ledger: log, clock, dashboardDir: null });
  server = await startAdminServer({ listen: '127.0.0.1:0', registry: new Registry(), isReady: () => true });
  server.mount(api);
}, 60_000);

afterAll(async () => {
  api?.close();
  await server?.close();
  await log?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Filters {
  task?: string;
  agent?: string;
  decision?: 'allow' | 'deny';
  kind?: string;
  tool?: string;
  code?: string;
  token_hash?: string;
}

/** The brute force: the filter applied to every record (docs/api.md semantics). */
function passes(r: LedgerRecord, f: Filters): boolean {
  const x = r as Partial<DecisionRecord> & { kind?: string; parent_sub?: string };
  const lifecycle = x.kind?.includes('.') === true;
  if (f.kind === undefined && lifecycle) return false;
  if (f.kind !== undefined && f.kind !== 'all' && (x.kind ?? 'decision') !== f.kind) return false;
  if (f.task !== undefined && x.task_id !== f.task) return false;
  if (
    f.agent !== undefined &&
    x.sub !== f.agent &&
    x.parent_sub !== f.agent &&
    !x.chain?.some((h) => h.sub === f.agent)
  )
    return false;
  if (f.decision !== undefined && x.decision !== f.decision) return false;
  if (f.code !== undefined && x.code !== f.code) return false;
  if (f.token_hash !== undefined && x.token_hash !== f.token_hash) return false;
  if (f.tool !== undefined && !(x.tool ?? '').split(',').includes(f.tool)) return false;
  return true;
}

const query = (o: Record<string, string | number | undefined>) =>
  new URLSearchParams(
    Object.entries(o)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]): [string, string] => [k, String(v)]),
  ).toString();

describe('GET /api/decisions/histogram', () => {
  it('equals a brute-force count of the records for random ranges and filters', async () => {
    const span = N * 997;
    const values: Record<keyof Filters, string[]> = {
      task: ['task-0', 'task-1', 'task-2'],
      agent: [agent(1), agent(3), agent(100)],
      decision: ['allow', 'deny'],
      kind: ['all', 'decision', 'token.mint'],
      tool: TOOLS,
      code: ['OK', 'POLICY_DENIED'],
      token_hash: ['tok-1', 'tok-4'],
    };
    // None, one or two filters at a time (more would mostly select nothing).
    const filters = fc
      .subarray(Object.keys(values) as (keyof Filters)[], { maxLength: 2 })
      .chain(
        (keys) =>
          fc.record(
            Object.fromEntries(keys.map((k) => [k, fc.constantFrom(...values[k])])),
          ) as fc.Arbitrary<Filters>,
      );
    let nonEmpty = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: -5000, max: span }),
        fc.integer({ min: 0, max: span }),
        fc.integer({ min: 1, max: 200 }),
        filters,
        async (from, width, buckets, f) => {
          const since = Math.max(0, T0 + from);
          const until = since + width;
          const { status, json } = await get(
            `/api/decisions/histogram?${query({ since, until, buckets, ...f })}`,
          );
          expect(status).toBe(200);
          expect(json.complete).toBe(true);
          // Each bucket equals the brute force over its own [start, end).
          const bs = json.buckets as {
            start: number;
            end: number;
            allow: number;
            deny: number;
            other: number;
          }[];
          expect(bs[0]!.start).toBe(since);
          expect(bs.at(-1)!.end).toBe(until + 1);
          for (const b of bs) {
            const inB = truth.filter((r) => r.ts >= b.start && r.ts < b.end && passes(r, f));
            const allow = inB.filter((r) => (r as DecisionRecord).decision === 'allow').length;
            const deny = inB.filter((r) => (r as DecisionRecord).decision === 'deny').length;
            expect([b.allow, b.deny, b.other]).toEqual([allow, deny, inB.length - allow - deny]);
          }
          const all = truth.filter((r) => r.ts >= since && r.ts <= until && passes(r, f)).length;
          expect(json.total.allow + json.total.deny + json.total.other).toBe(all);
          if (all > 0 && since % 1000 !== 0) nonEmpty++;
        },
      ),
      { numRuns: 80, seed: 6962 },
    );
    // The property looked at real counts with partly covered seconds, not only empty answers.
    expect(nonEmpty).toBeGreaterThan(30);
  }, 60_000);

  it('defaults to the last hour before now and counts the whole log, not a page', async () => {
    const { json } = await get('/api/decisions/histogram?buckets=10');
    expect(json.until).toBe(clock.nowMs());
    expect(json.since).toBe(clock.nowMs() - 3_600_000);
    const whole = await get(`/api/decisions/histogram?since=0&until=${T0 + N * 2000}&buckets=1`);
    const decisions = truth.filter((r) => !(r.kind ?? '').includes('.')).length;
    expect(whole.json.total.allow + whole.json.total.deny).toBe(decisions);
    expect(decisions).toBeGreaterThan(1000);
  });

  it('refuses bad ranges, bucket counts and kinds with ADMIN_BAD_REQUEST / LEDGER_BAD_ARGUMENT (400)', async () => {
    for (const [q, code] of [
      ['since=10&until=5', 'ADMIN_BAD_REQUEST'],
      ['since=yesterday', 'ADMIN_BAD_REQUEST'],
      ['buckets=0', 'ADMIN_BAD_REQUEST'],
      ['buckets=1001', 'ADMIN_BAD_REQUEST'],
      ['decision=maybe', 'ADMIN_BAD_REQUEST'],
      ['kind=token.forge', 'LEDGER_BAD_ARGUMENT'],
      ['task=a&task=b', 'ADMIN_BAD_REQUEST'],
    ] as const) {
      const r = await get(`/api/decisions/histogram?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.json.code, q).toBe(code);
    }
  });
});

describe('GET /api/decisions filters', () => {
  it('tool, code, token hash and decision id select exactly the matching records, newest first', async () => {
    for (const f of [
      { tool: 'fs.write' },
      { code: 'POLICY_DENIED', task: 'task-1' },
      { token_hash: 'tok-4', decision: 'allow' as const },
      { tool: 'fs.read', agent: agent(3) },
    ]) {
      const { json } = await get(`/api/decisions?limit=1000&${query(f)}`);
      const want = truth
        .map((r, index) => ({ r, index }))
        .filter(({ r }) => passes(r, f))
        .map(({ index }) => index)
        .reverse()
        .slice(0, 1000);
      expect(
        (json.items as { index: number }[]).map((i) => i.index),
        JSON.stringify(f),
      ).toEqual(want);
    }
    const one = await get('/api/decisions?id=dec-1234');
    expect((one.json.items as { record: DecisionRecord }[]).map((i) => i.record.id)).toEqual(['dec-1234']);
  });
});

describe('batched proofs and consistency', () => {
  it('GET /api/proofs proves every entry of a range against one checkpoint', async () => {
    const key = (await get('/api/verifier-key')).json.key as string;
    const indices = [5, 6, 7, 1500, N - 1];
    const { json } = await get(`/api/proofs?indices=${indices.join(',')}`);
    const cp = openCheckpoint(json.checkpoint, key);
    expect(cp.size).toBe(json.size);
    const entries = json.entries as { index: number; entry: string; proof: string[] }[];
    expect(entries.map((e) => e.index)).toEqual(indices);
    for (const e of entries) {
      const path = e.proof.map((h) => new Uint8Array(Buffer.from(h, 'base64')));
      const leaf = leafHash(new Uint8Array(Buffer.from(e.entry, 'base64')));
      expect(verifyInclusion(leaf, e.index, cp.size, path, cp.root)).toBe(true);
      expect(verifyInclusion(leaf, e.index + 1, cp.size, path, cp.root)).toBe(false);
    }
    for (const bad of ['', 'x', '1,,2', Array(1001).fill(1).join(','), '-1']) {
      const r = await get(`/api/proofs?indices=${bad}`);
      expect(r.status, bad).toBe(400);
      expect(r.json.code).toBe('ADMIN_BAD_REQUEST');
    }
    const past = await get(`/api/proofs?indices=${N + 5}`);
    expect([past.status, past.json.code]).toEqual([404, 'ADMIN_NOT_FOUND']);
  });

  it('GET /api/consistency proves an older size is a prefix of the newest checkpoint', async () => {
    const key = (await get('/api/verifier-key')).json.key as string;
    const old = log.root(1200);
    const { json } = await get('/api/consistency?from=1200');
    const cp = openCheckpoint(json.checkpoint, key);
    const proof = (json.proof as string[]).map((h) => new Uint8Array(Buffer.from(h, 'base64')));
    expect(verifyConsistency(1200, cp.size, proof, old, cp.root)).toBe(true);
    expect(verifyConsistency(1200, cp.size, proof, log.root(1201), cp.root)).toBe(false);
    for (const [q, status, code] of [
      ['', 400, 'ADMIN_BAD_REQUEST'],
      ['from=0', 400, 'ADMIN_BAD_REQUEST'],
      [`from=${N + 10}`, 400, 'ADMIN_BAD_REQUEST'],
      ['from=5&to=77', 404, 'ADMIN_NOT_FOUND'],
    ] as const) {
      const r = await get(`/api/consistency?${q}`);
      expect([r.status, r.json.code], q).toEqual([status, code]);
    }
  });
});

describe('policy without a bundle', () => {
  it('GET /api/policy says the built-in policy is in force instead of an error', async () => {
    const { status, json } = await get('/api/policy');
    expect(status).toBe(200);
    expect(json).toMatchObject({ builtin: true, source: 'builtin', revision: 'builtin' });
  });
});

describe('admin error paths carry the status docs/api.md documents', () => {
  /** `CODE status` pairs of docs/api.md's "Admin API codes" paragraph. */
  const documented = (): Map<string, number> => {
    const doc = readFileSync('docs/api.md', 'utf8');
    const para = doc.slice(doc.indexOf('Admin API codes'), doc.indexOf('ADMIN_INTERNAL` 500') + 20);
    return new Map([...para.matchAll(/`(ADMIN_[A-Z_]+)` (\d{3})/g)].map((m) => [m[1]!, Number(m[2])]));
  };

  it('every path answers its code with the documented status', async () => {
    const docs = documented();
    expect(docs.size).toBeGreaterThanOrEqual(10);
    const call = async (path: string, init: RequestInit = {}, auth: string | null = TOKEN) => {
      const headers = new Headers(init.headers);
      if (auth) headers.set('authorization', `Bearer ${auth}`);
      const res = await fetch(`${server.url}${path}`, { ...init, headers });
      return { status: res.status, code: ((await res.json()) as { code: string }).code };
    };
    const login = await fetch(`${server.url}/api/session`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    const cases: [string, Promise<{ status: number; code: string }>][] = [
      ['ADMIN_UNAUTHORIZED', call('/api/status', {}, null)],
      ['ADMIN_UNAUTHORIZED', call('/api/status', {}, 'wrong-token-wrong-token')],
      [
        'ADMIN_BEARER_REQUIRED',
        call('/api/policy/reevaluate', { method: 'POST', headers: { cookie } }, null),
      ],
      ['ADMIN_NOT_FOUND', call('/api/nothing-here')],
      ['ADMIN_NOT_FOUND', call(`/api/proof/${N + 1}`)],
      ['ADMIN_METHOD_NOT_ALLOWED', call('/api/decisions/histogram', { method: 'DELETE' })],
      ['ADMIN_BAD_REQUEST', call('/api/decisions?limit=0')],
      ['ADMIN_BAD_REQUEST', call('/api/proof/abc')],
      [
        'ADMIN_BODY_TOO_LARGE',
        call('/api/lifecycle', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: 'x'.repeat(70_000),
        }),
      ],
      [
        'ADMIN_UNSUPPORTED_MEDIA_TYPE',
        call('/api/lifecycle', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' }),
      ],
      [
        'ADMIN_UNAVAILABLE',
        call('/api/policy/eval', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"input":{}}',
        }),
      ],
      [
        'ADMIN_UNAVAILABLE',
        call('/api/policy/reevaluate', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"index":1}',
        }),
      ],
    ];
    for (const [code, answer] of cases) {
      const r = await answer;
      expect(r.code).toBe(code);
      expect(r.status, code).toBe(docs.get(code));
    }
  });
});
