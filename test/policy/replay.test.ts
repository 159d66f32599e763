/**
 * `sigil policy replay` (docs/policy.md §13): recorded decisions in a real LMDB ledger, candidate bundles built
 * by the real OPA CLI, evaluated through the Check path's evaluatePolicy; and the CLI as a child process.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DecisionRecord, MerkleLog, type RecordedHop } from '../../src/ledger/index.js';
import { compilePolicy } from '../../src/nlpolicy/index.js';
import {
  DecisionReplay,
  type HookContext,
  inputDependencies,
  loadBundle,
  sigilInputFromHook,
} from '../../src/policy/index.js';
import { contextFromRecord, sigilFromRecord } from '../../src/policy/lib/replay-input.js';
import { runCli } from '../support/sigil-cli.js';
import { OPA, tempDir } from './support.js';

const T0 = 1_767_225_600_000;
const RESEARCH = 'spiffe://ex.org/agent/research';
const OPS = 'spiffe://ex.org/agent/ops';

function chain(sub: string, scope: string[]): RecordedHop[] {
  return [
    {
      sub: 'spiffe://ex.org/agent/root',
      iss: 'spiffe://ex.org/sigil/issuer',
      jti: 'r1',
      tool_scope: ['*'],
      exp: 2000,
    },
    { sub, iss: 'spiffe://ex.org/agent/root', jti: 'l1', tool_scope: scope, exp: 1900 },
  ];
}

function decision(i: number, over: Partial<DecisionRecord>): DecisionRecord {
  return {
    v: 1,
    id: `dec-${i}`,
    ts: T0 + i * 1000,
    decision: 'allow',
    code: 'OK',
    http_status: 200,
    method: 'POST',
    host: 'tools.ex.org',
    path: '/mcp',
    policy_rev: 'r1',
    ...over,
  };
}

const agent = (sub: string, tool: string): Partial<DecisionRecord> => ({
  sub,
  task_id: 't-1',
  depth: 2,
  tool,
  chain: chain(sub, [tool]),
  token_hash: 'h',
});

/** The ledger: what a day of traffic under the current policy (web.search, fs.read allowed) left. */
const RECORDS: DecisionRecord[] = [
  decision(0, agent(RESEARCH, 'web.search')),
  decision(1, agent(RESEARCH, 'fs.read')),
  decision(2, { ...agent(OPS, 'shell.exec'), decision: 'deny', code: 'POLICY_DENIED', http_status: 403 }),
  // Denied before the policy step: no policy_rev, a token code.
  decision(3, { decision: 'deny', code: 'TBIT_EXPIRED', http_status: 401, policy_rev: undefined }),
  decision(4, {
    decision: 'deny',
    code: 'AUTHZ_NO_TOKEN',
    http_status: 401,
    kind: 'aggregate',
    count: 7,
    last_ts: T0 + 4500,
    window_ms: 1000,
    source: '10.0.0.9',
    policy_rev: undefined,
  }),
  // A public route (no chain).
  decision(5, { method: 'GET', path: '/healthz' }),
  decision(60, agent(RESEARCH, 'fs.read')),
];

const CANDIDATE = `package envoy.authz
default allow := false
allow if { input.sigil.valid; input.sigil.tool == "web.search" }
allow if { input.sigil.sub == "${OPS}"; input.sigil.tool == "shell.exec"; input.sigil.depth <= 2 }
allow if { input.sigil.public_route; input.attributes.request.http.method == "GET"; input.parsed_path == ["healthz"] }
`;

const HEADERS = `package envoy.authz
default allow := false
allow if {
  http := input.attributes.request.http
  http.headers["x-approved"] == "yes"
}
allow if input.sigil.tool == "web.search"
`;

/** Rule conflict on every chain request: a Wasm eval error. */
const CONFLICT = `package envoy.authz
allow := true if input.sigil.sub
allow := false if input.sigil.tool
default allow := false
`;

/** Allows only before T0 + 1.5 s: time.now_ns() must be the recorded time. */
const CLOCK = `package envoy.authz
default allow := false
allow if time.now_ns() < ${(T0 + 1500) * 1_000_000}
`;

const tmp = tempDir('sigil-replay-');
afterAll(() => tmp.cleanup());
const ledgerDir = join(tmp.dir, 'ledger');

beforeAll(async () => {
  const log = await MerkleLog.open(ledgerDir);
  for (const r of RECORDS) await log.appendDecision(r);
  await log.close();
});

let builds = 0;
/** Builds `rego` as `sigil policy build` does (from inside its directory, on "."); returns the directory. */
function build(rego: string, revision = 'cand-1'): { dir: string; bytes: Buffer } {
  const dir = join(tmp.dir, `src-${builds++}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'policy.rego'), rego);
  const out = join(tmp.dir, `b-${builds}.tar.gz`);
  const args = [
    'build',
    '-t',
    'wasm',
    '-e',
    'envoy/authz/allow',
    '--revision',
    revision,
    '--wasm-include-print',
  ];
  execFileSync(OPA, [...args, '-o', out, '.'], { cwd: dir });
  return { dir, bytes: readFileSync(out) };
}

async function replay(rego: string, range: { since?: number; until?: number } = {}) {
  const { bytes } = build(rego);
  const bundle = await loadBundle(bytes);
  const r = new DecisionReplay(bundle, {
    dependencies: await inputDependencies(bytes, bundle.entrypoint, OPA, { 'policy.rego': rego }),
  });
  const log = await MerkleLog.open(ledgerDir, { readOnly: true });
  try {
    for (let i = 0; i < log.size; i++) {
      const rec = log.decision(i);
      if (rec.ts >= (range.since ?? 0) && rec.ts <= (range.until ?? Number.MAX_SAFE_INTEGER)) r.add(i, rec);
    }
  } finally {
    await log.close();
  }
  return r.report();
}

describe('DecisionReplay', () => {
  it('reports each flip with its direction, agent, tool and a sample', async () => {
    const r = await replay(CANDIDATE);
    expect(r.revision).toBe('cand-1');
    expect(r.entries).toBe(7);
    expect(r.before_policy).toBe(1);
    expect(r.aggregated).toEqual({ entries: 1, denies: 7 });
    expect(r.replayed).toBe(5);
    expect(r.flips).toEqual({ allow_to_deny: 2, deny_to_allow: 1 });
    expect(r.unchanged).toBe(2);
    expect({ ...r.by_agent }).toEqual({
      [RESEARCH]: { allow_to_deny: 2, deny_to_allow: 0 },
      [OPS]: { allow_to_deny: 0, deny_to_allow: 1 },
    });
    expect({ ...r.by_tool }).toEqual({
      'fs.read': { allow_to_deny: 2, deny_to_allow: 0 },
      'shell.exec': { allow_to_deny: 0, deny_to_allow: 1 },
    });
    expect(r.samples.map((s) => [s.index, s.was, s.now, s.now_code])).toEqual([
      [1, 'allow', 'deny', 'POLICY_DENIED'],
      [2, 'deny', 'allow', 'OK'],
      [6, 'allow', 'deny', 'POLICY_DENIED'],
    ]);
    expect(r.not_replayable.count).toBe(0);
    expect(r.unevaluable.count).toBe(0);
    expect(r.reads).toContain('input.sigil.tool');
  });

  it('limits the replay to a time range', async () => {
    const r = await replay(CANDIDATE, { since: T0 + 1000, until: T0 + 5000 });
    expect(r.entries).toBe(5);
    expect(r.flips).toEqual({ allow_to_deny: 1, deny_to_allow: 1 });
  });

  it('counts decisions whose policy reads unrecorded fields as not replayable, naming the fields', async () => {
    const r = await replay(HEADERS);
    expect(r.replayed).toBe(0);
    expect(r.flips).toEqual({ allow_to_deny: 0, deny_to_allow: 0 });
    expect(r.not_replayable.count).toBe(5);
    expect(r.not_replayable.fields).toEqual(['input.attributes.request.http.headers.x-approved']);
    expect(r.not_replayable.reason).toMatch(/headers\.x-approved, which the ledger does not keep/);
    expect(r.not_replayable.samples[0]).toMatchObject({ index: 0, was: 'allow' });
    expect(r.not_replayable.samples[0]!.now).toBeUndefined();
  });

  it('counts what the candidate cannot evaluate apart, by code', async () => {
    const r = await replay(CONFLICT);
    // The three chain decisions conflict; the public route evaluates (no sub, no tool → default false).
    expect(r.unevaluable.count).toBe(4);
    expect({ ...r.unevaluable.by_code }).toEqual({ POLICY_EVAL_ERROR: 4 });
    expect(r.unevaluable.samples[0]!.reason).toMatch(/conflict/);
    expect(r.replayed).toBe(1);
  });

  it('evaluates time.now_ns() at the recorded decision time', async () => {
    const r = await replay(CLOCK);
    // Under the current time every allow would flip; at the recorded times only those after T0 + 1.5 s do.
    expect(r.samples.map((s) => s.index)).toEqual([5, 6]);
    expect(r.flips).toEqual({ allow_to_deny: 2, deny_to_allow: 0 });
    expect(r.unchanged).toBe(3);
  });

  it('never analyses sources other than those the bundle was built from', async () => {
    const { bytes } = build(CANDIDATE);
    const bundle = await loadBundle(bytes);
    // The bundle alone: opa build -t wasm drops the entrypoint rules from the Rego it keeps.
    const alone = await inputDependencies(bytes, bundle.entrypoint, OPA);
    expect(alone).toEqual({
      unknown: expect.stringMatching(/lacks the compiled entrypoint rules: pass the sources/),
    });
    // Sources that build to another Wasm (a wider policy) are refused.
    const other = await inputDependencies(bytes, bundle.entrypoint, OPA, { 'policy.rego': CLOCK });
    expect(other).toEqual({ unknown: expect.stringMatching(/do not build to this bundle's policy.wasm/) });
    const r = new DecisionReplay(bundle, { dependencies: other });
    r.add(0, RECORDS[0]!);
    expect(r.report().not_replayable).toMatchObject({
      count: 1,
      reason: expect.stringMatching(/policy.wasm/),
    });
    expect(r.report().replayed).toBe(0);
    expect(
      await inputDependencies(bytes, bundle.entrypoint, undefined, { 'policy.rego': CANDIDATE }),
    ).toEqual({
      unknown: expect.stringMatching(/opa CLI not found/),
    });
  });
});

describe('replaying a policy compiled from controlled English', () => {
  async function fromWords(words: string) {
    const { rego } = compilePolicy(words);
    const { bytes } = build(rego);
    const bundle = await loadBundle(bytes);
    const r = new DecisionReplay(bundle, {
      dependencies: await inputDependencies(bytes, bundle.entrypoint, OPA, { 'policy.rego': rego }),
    });
    for (const [i, rec] of RECORDS.entries()) r.add(i, rec);
    return r.report();
  }

  it('replays tool and agent sentences exactly', async () => {
    const r = await fromWords(`agent ${RESEARCH} may call web.search.\nagent ${OPS} may call shell.exec.`);
    expect(r.not_replayable.count).toBe(0);
    expect(r.flips).toEqual({ allow_to_deny: 3, deny_to_allow: 1 });
    expect(r.samples.map((s) => s.index)).toEqual([1, 2, 5, 6]);
  });

  it('replays route sentences: they read parsed_path, which the recorded path gives exactly', async () => {
    const r = await fromWords('anyone may make GET requests to /healthz.');
    expect(r.not_replayable.count).toBe(0);
    expect(r.replayed).toBeGreaterThan(0);
    expect(r.reads).not.toContain('input.attributes.request.http.path');
  });

  it('reports a rule on the raw path as not replayable: the recorded path has no query string', async () => {
    const r = await replay('package envoy.authz\n\nallow if input.attributes.request.http.path == "/x?y"\n');
    expect(r.replayed).toBe(0);
    expect(r.not_replayable.count).toBe(5);
    expect(r.not_replayable.fields).toEqual(['input.attributes.request.http.path']);
  });
});

describe('input rebuilt from a record', () => {
  it('gives the policy the same input.sigil as the Check path built', () => {
    const hops = chain(RESEARCH, ['web.search', 'fs.read']);
    const ctx: HookContext = {
      request: {} as HookContext['request'],
      chain: {
        sub: RESEARCH,
        iss: hops[0]!.iss,
        task_id: 't-1',
        aud: 'x',
        tool_scope: hops[1]!.tool_scope,
        depth: 2,
        exp: 1900,
        token_hash: 'h',
        hops,
      },
      tools: ['web.search', 'fs.read'],
      toolSource: 'mcp',
      publicRoute: false,
      decisionId: 'd',
      nowMs: T0,
    };
    const rec = decision(0, { ...agent(RESEARCH, 'web.search,fs.read'), chain: hops });
    expect(sigilFromRecord(rec)).toEqual(sigilInputFromHook(ctx));
    const one = { ...ctx, tools: ['web.search'] };
    expect(sigilFromRecord({ ...rec, tool: 'web.search' })).toEqual(sigilInputFromHook(one));
    const pub = { ...ctx, tools: [], publicRoute: true } as HookContext;
    delete (pub as { chain?: unknown }).chain;
    expect(sigilFromRecord(decision(5, {}))).toEqual(sigilInputFromHook(pub));
  });

  it('puts method, host, path and peer where the Check path puts them', () => {
    const c = contextFromRecord(decision(0, { peer: 'spiffe://ex.org/ns/x' }));
    expect(c.checkRequest).toEqual({
      attributes: {
        request: { http: { path: '/mcp', method: 'POST', host: 'tools.ex.org' } },
        source: { principal: 'spiffe://ex.org/ns/x' },
      },
    });
  });
});

describe('sigil policy replay (CLI)', () => {
  const run = (args: string[]) =>
    runCli(args, { env: { SIGIL_DATA: join(tmp.dir, 'other'), SIGIL_OPA: OPA } });

  it('prints the JSON report for the ledger of --data-dir, read-only', async () => {
    const { dir, bytes } = build(CANDIDATE, 'cand-2');
    const file = join(tmp.dir, 'cand.tar.gz');
    writeFileSync(file, bytes);
    const r = await run([
      'policy',
      'replay',
      '--bundle',
      file,
      '--source',
      dir,
      '--data-dir',
      tmp.dir,
      '--until',
      new Date(T0 + 5000).toISOString(),
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep).toMatchObject({
      revision: 'cand-2',
      entries: 6,
      flips: { allow_to_deny: 1, deny_to_allow: 1 },
    });
    const text = await run([
      'policy',
      'replay',
      '--bundle',
      file,
      '--source',
      join(dir, 'policy.rego'),
      '--data-dir',
      tmp.dir,
    ]);
    expect(text.stdout).toMatch(/allow -> deny: 2 {3}deny -> allow: 1/);
    expect(text.stdout).toMatch(
      /#1 .* spiffe:\/\/ex.org\/agent\/research fs.read POST \/mcp: allow -> deny \(POLICY_DENIED\)/,
    );
  });

  it('refuses a bad --since with its code', async () => {
    // 'x 1' and Feb 30 were dates to Date.parse (2001-01-01, March 2): src/lib/parse-time.ts refuses them.
    for (const since of ['yesterday', 'x 1', '2026-02-30']) {
      const r = await run(['policy', 'replay', '--bundle', 'x', '--data-dir', tmp.dir, '--since', since]);
      expect(r.code, since).toBe(1);
      expect(r.stderr).toMatch(/^POLICY_REPLAY_FAILED: --since/);
    }
  });
});
