/**
 * The policy authoring endpoints (POST /api/policy/compile, /replay, /activate) over a real socket: a real LMDB
 * ledger holding recorded decisions, a real PolicyEngine hot-reloading a bundle file, the real OPA CLI checking
 * and building. Refusals assert the CODE; activation is judged by the engine's decisions and the ledger entry.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminApiHandler, createAdminApi } from '../../src/admin/index.js';
import { type AdminServer, startAdminServer } from '../../src/admin/server.js';
import { type DecisionRecord, decodeEntry, MerkleLog, type RecordedHop } from '../../src/ledger/index.js';
import { systemClock } from '../../src/lib/clock.js';
import {
  buildBundle,
  findOpa,
  type PolicyContext,
  PolicyEngine,
  regoSources,
} from '../../src/policy/index.js';
import { contextFromRecord } from '../../src/policy/lib/replay-input.js';
import { lifecycleRecorder } from '../../src/serve/index.js';
import { opaBuildSources } from '../policy/support.js';

const TOKEN = 'policy-api-test-admin-token-0123';
const T0 = Date.UTC(2026, 0, 7, 10, 0, 0);
const RESEARCH = 'spiffe://sigil.mesh/agent/research/i1';
const OPS = 'spiffe://sigil.mesh/agent/ops/i1';
const ALLOW_ALL = 'package envoy.authz\n\nimport rego.v1\n\ndefault allow := true\n';
const POLICY = 'research agents may call web.search and fs.read. ops agents may call shell.exec.';
/** Against the recorded traffic: fs.read by research flips to deny; the rest stays allowed. */
const NARROWER = 'research agents may call web.search. ops agents may call shell.exec.';

const hops = (sub: string, tool: string): RecordedHop[] => [
  {
    sub: 'spiffe://sigil.mesh/agent/root/r',
    iss: 'spiffe://sigil.mesh/sigil/issuer',
    jti: 'r',
    tool_scope: ['*'],
    exp: 2e9,
  },
  { sub, iss: 'spiffe://sigil.mesh/agent/root/r', jti: 'l', tool_scope: [tool], exp: 2e9 },
];

const decision = (i: number, sub: string, tool: string): DecisionRecord => ({
  v: 1,
  id: `dec-${i}`,
  ts: T0 + i * 1000,
  decision: 'allow',
  code: 'OK',
  http_status: 200,
  method: 'POST',
  host: 'tools.local',
  path: `/tools/${tool}`,
  policy_rev: 'allow-all',
  sub,
  task_id: 'task-1',
  depth: 2,
  tool,
  chain: hops(sub, tool),
  token_hash: 'h',
});

const RECORDS = [
  decision(0, RESEARCH, 'web.search'),
  decision(1, RESEARCH, 'fs.read'),
  decision(2, RESEARCH, 'fs.read'),
  decision(3, OPS, 'shell.exec'),
];

let dir: string;
let log: MerkleLog;
let engine: PolicyEngine;
let server: AdminServer;
let api: AdminApiHandler;
let recorder: ReturnType<typeof lifecycleRecorder>;

async function post(path: string, body: unknown, auth: string | null = TOKEN) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (auth !== null) headers.authorization = `Bearer ${auth}`;
  const res = await fetch(`${server.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  // biome-ignore lint/suspicious/noExplicitAny: the cases read several answer shapes; the assertions check them.
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}

const decide = (r: DecisionRecord) => engine.decide(contextFromRecord(r) as PolicyContext).allowed;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sigil-policy-api-'));
  mkdirSync(join(dir, 'src'));
  log = await MerkleLog.open(join(dir, 'ledger'), { origin: 'sigil.mesh/sigil/audit' });
  for (const r of RECORDS) await log.appendDecision(r);
  const file = join(dir, 'bundle.tar.gz');
  writeFileSync(file, opaBuildSources({ 'p.rego': ALLOW_ALL }, ['envoy/authz/allow'], 'allow-all'));
  // The lifecycle path `sigil serve` wires: the engine's policy.activate events become ledger entries.
  recorder = lifecycleRecorder({ clock: systemClock });
  engine = await PolicyEngine.start({
    source: file,
    entrypoint: 'envoy/authz/allow',
    registry: new Registry(),
    pollIntervalMs: 60_000,
    onLifecycle: recorder.onLifecycle,
  });
  recorder.attach(log);
  api = createAdminApi({
    adminToken: TOKEN,
    ledger: log,
    policy: { engine, entrypoint: 'envoy/authz/allow' },
    dashboardDir: null,
  });
  server = await startAdminServer({ listen: '127.0.0.1:0', registry: new Registry(), isReady: () => true });
  server.mount(api);
}, 60_000);

afterAll(async () => {
  api?.close();
  await server?.close();
  await engine?.close();
  await log?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('authoring endpoints', () => {
  it('need the Bearer admin credential', async () => {
    for (const p of ['/api/policy/compile', '/api/policy/replay', '/api/policy/activate']) {
      expect((await post(p, { text: POLICY }, null)).json.code).toBe('ADMIN_UNAUTHORIZED');
      expect((await post(p, { text: POLICY }, 'wrong-token-wrong-token')).status).toBe(401);
    }
  });

  it('compile answers the Rego, its tests and the explanation', async () => {
    const { status, json } = await post('/api/policy/compile', { text: POLICY });
    expect(status).toBe(200);
    expect(json.errors).toEqual([]);
    expect(json.rego).toContain('package envoy.authz');
    expect(json.rego).toContain('"web.search"');
    expect(json.testRego).toMatch(/^test_/m);
    expect(json.explanation.map((e: { words: string }) => e.words)).toEqual([
      'research agents may call web.search and fs.read',
      'ops agents may call shell.exec',
    ]);
  });

  it('compile reports a refused sentence with line, column, words and suggestion', async () => {
    const { json } = await post('/api/policy/compile', {
      text: 'ops agents may call shell.exec.\nresearch agents can maybe call web.search.',
    });
    expect(json.rego).toBe('');
    expect(json.errors).toHaveLength(1);
    expect(json.errors[0]).toMatchObject({
      code: 'NLPOLICY_UNSUPPORTED_SENTENCE',
      line: 2,
      column: 21,
      words: 'maybe call web.search',
    });
    expect(json.errors[0].suggestion).toContain('research agents can');
  });

  it('refuses a missing text and a bad time range', async () => {
    expect((await post('/api/policy/compile', {})).json.code).toBe('ADMIN_BAD_REQUEST');
    expect((await post('/api/policy/replay', { text: POLICY, since: 5, until: 1 })).json.code).toBe(
      'ADMIN_BAD_REQUEST',
    );
    for (const since of ['yesterday', 'x 1', '2026-01-01T00:00', -1, 1.5, true]) {
      const r = await post('/api/policy/replay', { text: POLICY, since });
      expect(r.json.code, String(since)).toBe('ADMIN_BAD_REQUEST');
    }
  });

  it('replay reports the flips of the ledger under the English candidate', async () => {
    const { status, json } = await post('/api/policy/replay', { text: NARROWER });
    expect(status).toBe(200);
    expect(json.replayed).toBe(4);
    expect(json.flips).toEqual({ allow_to_deny: 2, deny_to_allow: 0 });
    expect(json.by_agent[RESEARCH]).toEqual({ allow_to_deny: 2, deny_to_allow: 0 });
    expect(json.by_tool['fs.read']).toEqual({ allow_to_deny: 2, deny_to_allow: 0 });
    expect(json.samples.map((s: { id: string }) => s.id)).toEqual(['dec-1', 'dec-2']);
    expect(json.not_replayable.count).toBe(0);
    // The time range narrows what is replayed.
    const late = await post('/api/policy/replay', { text: NARROWER, since: T0 + 2000 });
    expect(late.json.flips.allow_to_deny).toBe(1);
  });

  it('replay takes a built bundle: SIGIL ships its sources in it; a plain opa bundle needs them passed', async () => {
    const sources = { 'p.rego': 'package envoy.authz\n\nimport rego.v1\n\ndefault allow := false\n' };
    // Built as `sigil policy build` builds it (opa build run on "." inside the source directory).
    writeFileSync(join(dir, 'src', 'p.rego'), sources['p.rego']);
    await buildBundle(join(dir, 'src'), {
      entrypoints: ['envoy/authz/allow'],
      output: join(dir, 'deny-all.tar.gz'),
      print: false,
    });
    const built = readFileSync(join(dir, 'deny-all.tar.gz'));
    expect(regoSources(built)).toEqual(sources);
    const bundle = built.toString('base64');
    const { json } = await post('/api/policy/replay', { bundle, sources });
    expect(json.flips).toEqual({ allow_to_deny: 4, deny_to_allow: 0 });
    // The sources travel inside SIGIL's bundle: nothing else needs to be sent.
    const shipped = await post('/api/policy/replay', { bundle });
    expect(shipped.json.flips).toEqual({ allow_to_deny: 4, deny_to_allow: 0 });
    // A bundle from plain `opa build -t wasm` has only stubs: nothing is called replayed without its sources.
    const plain = opaBuildSources(sources, ['envoy/authz/allow']).toString('base64');
    const blind = await post('/api/policy/replay', { bundle: plain });
    expect(blind.json.replayed).toBe(0);
    expect(blind.json.not_replayable.count).toBe(4);
    expect(blind.json.not_replayable.reason).toMatch(/sources|reads/);
    expect((await post('/api/policy/replay', { bundle, sources: { 'p.rego': 1 } })).json.code).toBe(
      'ADMIN_BAD_REQUEST',
    );
  });

  it('replay and activate refuse text that does not compile, and nothing changes', async () => {
    const before = engine.revision;
    const size = log.size;
    const bad = `${POLICY} every agent may do whatever it likes.`;
    const r = await post('/api/policy/replay', { text: bad });
    expect(r.status).toBe(400);
    expect(r.json.code).toBe('NLPOLICY_UNSUPPORTED_SENTENCE');
    const a = await post('/api/policy/activate', { text: bad });
    expect(a.status).toBe(400);
    expect(a.json.code).toBe('NLPOLICY_UNSUPPORTED_SENTENCE');
    expect(engine.revision).toBe(before);
    expect(log.size).toBe(size);
    expect(decide(RECORDS[1]!)).toBe(true);
  });

  it('activate swaps the policy in force and records policy.activate with the new revision', async () => {
    expect(decide(RECORDS[1]!)).toBe(true);
    const { status, json } = await post('/api/policy/activate', { text: NARROWER });
    expect(status).toBe(200);
    expect(json.revision).toMatch(/^nl-[0-9a-f]{16}$/);
    expect(json.policy.revision).toBe(json.revision);
    expect(json.tests).toMatch(/PASS/);
    expect(engine.revision).toBe(json.revision);
    // The engine decides by the words now: research may search, not read; ops may exec.
    expect(decide(RECORDS[0]!)).toBe(true);
    expect(decide(RECORDS[1]!)).toBe(false);
    expect(decide(RECORDS[3]!)).toBe(true);
    await recorder.settled();
    const last = decodeEntry(log.entry(log.size - 1)) as unknown as Record<string, unknown>;
    expect(last).toMatchObject({
      kind: 'policy.activate',
      revision: json.revision,
      prev_revision: 'allow-all',
    });
    // The bundle file now holds the compiled Rego (the policy view shows it).
    const info = await fetch(`${server.url}/api/policy`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const sources = ((await info.json()) as { sources: Record<string, string> }).sources;
    expect(Object.values(sources).join('\n')).toContain('research agents may call web.search');
    expect(readFileSync(join(dir, 'bundle.tar.gz')).length).toBeGreaterThan(0);
  });

  it('runs the OPA CLI without blocking the event loop: the server keeps answering during an activation', async () => {
    // The real OPA behind a 1 s delay (found through $SIGIL_OPA, as an operator may set it): with spawnSync a probe
    // would wait out a whole run; without, every probe is answered at once.
    const opa = findOpa();
    const slow = join(dir, 'slow-opa.sh');
    writeFileSync(slow, `#!/bin/sh\nsleep 1\nexec '${opa}' "$@"\n`, { mode: 0o755 });
    process.env.SIGIL_OPA = slow;
    try {
      let finished = false;
      const started = performance.now();
      const activation = post('/api/policy/activate', { text: POLICY }).then((r) => {
        finished = true;
        return r;
      });
      const probes: number[] = [];
      while (!finished) {
        const t = performance.now();
        expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
        probes.push(performance.now() - t);
      }
      const { status, json } = await activation;
      expect(status).toBe(200);
      // opa check, opa test and opa build: three delayed runs.
      expect(performance.now() - started).toBeGreaterThan(3000);
      expect(Math.max(...probes)).toBeLessThan(600);
      expect(engine.revision).toBe(json.revision);
      expect(decide(RECORDS[1]!)).toBe(true);
    } finally {
      delete process.env.SIGIL_OPA;
    }
  });
});

describe('policy view of the bundle in force (after activation)', () => {
  async function get(path: string) {
    const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  it('GET /api/policy shows the real Rego the bundle was built from, not opa stubs', async () => {
    const { json } = await get('/api/policy');
    expect(json.sourcesFull).toBe(true);
    const rego = Object.values(json.sources as Record<string, string>).join('\n');
    // The rules themselves (opa build -t wasm alone keeps only package and imports).
    expect(rego).toMatch(/allow if/);
    expect(rego).toContain('web.search');
  });

  it('POST /api/policy/reevaluate evaluates one recorded decision again under the bundle in force', async () => {
    // dec-1: research called fs.read, allowed under allow-all; NARROWER (now in force) denies it.
    expect((await post('/api/policy/activate', { text: NARROWER })).status).toBe(200);
    const changed = await post('/api/policy/reevaluate', { index: 1 });
    expect(changed.status).toBe(200);
    expect(changed.json).toMatchObject({
      index: 1,
      was: 'allow',
      outcome: 'changed',
      now: 'deny',
      was_revision: 'allow-all',
    });
    expect(changed.json.revision).toBe(engine.revision);
    const same = await post('/api/policy/reevaluate', { index: 0 });
    expect(same.json).toMatchObject({ outcome: 'same', now: 'allow' });
    for (const [body, status, code] of [
      [{ index: -1 }, 400, 'ADMIN_BAD_REQUEST'],
      [{}, 400, 'ADMIN_BAD_REQUEST'],
      [{ index: 10_000 }, 404, 'ADMIN_NOT_FOUND'],
    ] as const) {
      const r = await post('/api/policy/reevaluate', body);
      expect([r.status, r.json.code], JSON.stringify(body)).toEqual([status, code]);
    }
    // A lifecycle entry (policy.activate, the newest) is not a decision.
    expect((await post('/api/policy/reevaluate', { index: log.size - 1 })).json.code).toBe(
      'ADMIN_BAD_REQUEST',
    );
  });

  it('a refused bundle upload answers 400 with its POLICY_* code and changes nothing (docs/api.md)', async () => {
    const before = engine.revision;
    for (const bytes of [
      Buffer.from('not a bundle'),
      opaBuildSources({ 'o.rego': 'package other\n\nimport rego.v1\n\nentry := true\n' }, ['other/entry']),
    ]) {
      const res = await fetch(`${server.url}/api/policy/bundle`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/gzip' },
        body: bytes,
      });
      const json = (await res.json()) as { code: string };
      expect(res.status).toBe(400);
      expect(json.code).toBe('POLICY_BUNDLE_INVALID');
    }
    expect(engine.revision).toBe(before);
  });
});
