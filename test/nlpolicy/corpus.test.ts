/**
 * The controlled-English corpus (test/fixtures/nlpolicy/corpus.yaml): every policy compiled, every hand-written
 * expectation checked (a) with the real OPA (`opa eval` on the generated Rego, one batch run) and (b) through the
 * live Check path (checkFromConfig with real Ed25519 token chains and the compiled Wasm). Also: the generated
 * tests pass `opa check --strict` + `opa test`, every grammar form is covered, and compiling is deterministic.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckResponse } from '../../gen/envoy/service/auth/v3/external_auth_pb.js';
import { loadConfig } from '../../src/config/index.js';
import { frozenClock } from '../../src/lib/clock.js';
import { type CompiledPolicy, compilePolicy } from '../../src/nlpolicy/index.js';
import type { HookDecider } from '../../src/policy/index.js';
import { checkFromConfig, createPolicyDecider } from '../../src/serve/index.js';
import { createTrustStore } from '../../src/token/index.js';
import { OPA, tempDir } from '../policy/support.js';
import { deniedOf, okOf } from '../support/check-request.js';
import { agentId, ISS, testIdentity } from '../support/identity.js';
import { memorySink } from '../support/memory-sink.js';
import {
  atMs,
  type CaseSpec,
  checkRequestFor,
  inputFor,
  loadCorpus,
  opaEvalBatch,
  renamePackage,
  tokenFor,
} from './support.js';

const corpus = loadCorpus();
const tmp = tempDir('sigil-nlpolicy-corpus-');
const compiled: CompiledPolicy[] = corpus.map((e, i) => compilePolicy(e.policy, { source: `corpus#${i}` }));
const pkg = (i: number) => `corpus.p${i}`;
afterAll(() => tmp.cleanup());

/** What a decision says about a case: allow, or deny with status/body when the policy sets them. */
function verdictOfDecision(d: unknown): { allowed: boolean; status?: number; body?: string } {
  if (typeof d === 'boolean') return { allowed: d };
  const o = d as { allowed: boolean; http_status?: number; body?: string };
  return {
    allowed: o.allowed,
    ...(o.http_status ? { status: o.http_status } : {}),
    ...(o.body ? { body: o.body } : {}),
  };
}

function expectCase(c: CaseSpec, got: { allowed: boolean; status?: number; body?: string }, where: string) {
  expect(got.allowed ? 'allow' : 'deny', where).toBe(c.expect);
  if (c.status !== undefined) expect(got.status, where).toBe(c.status);
  if (c.message !== undefined) expect(got.body, where).toBe(c.message);
}

describe('controlled-English corpus', () => {
  it('has at least 60 policies and covers every grammar form', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(60);
    const text = corpus.map((e) => e.policy.toLowerCase()).join('\n');
    const forms = [
      'anyone may',
      'any agent may',
      'all agents',
      'every agent',
      'agents of type',
      'a billing agent',
      'research agents may',
      'agent spiffe://',
      'agents matching',
      'agents in trust domain',
      'agents from trust domain',
      'task task-',
      'tasks starting with',
      'tasks with prefix',
      ' on task ',
      ' on tasks starting with',
      'call fs.*',
      'any tool',
      'call *',
      ' use ',
      ', never ',
      'but never',
      'may not',
      'must not',
      'cannot',
      'can not',
      'may never',
      'must never',
      'is not allowed to',
      'are not allowed to',
      ' can call',
      'are allowed to',
      'is allowed to',
      ' never call',
      'make get requests to',
      'get or head requests',
      'get, post and put',
      'make any requests',
      'make any request to /*',
      'make post request',
      'do anything',
      'depth is at most',
      'depth is less than',
      'depth is at least',
      'depth is more than',
      'delegated by agent ',
      'delegated by orchestrator agents',
      'delegated by agents in trust domain',
      'delegated by an agent of type',
      'delegated by any agent',
      'only if',
      'not when the chain includes',
      'when the chain includes agent',
      'between 09:00 and 17:00 in utc',
      'between 22:00 and 06:00',
      'on weekdays',
      'on weekends',
      'on monday, wednesday and friday',
      'on monday to thursday',
      'on saturdays and sundays',
      'on fridays',
      'body is at most',
      'body is larger than',
      'requests with a body larger than',
      'denied requests get status',
      'and message',
      'with message',
    ];
    for (const f of forms) expect(text, f).toContain(f);
    expect(compiled.flatMap((c) => c.sentences).length).toBeGreaterThanOrEqual(90);
  });

  it('compiles byte-identically twice', () => {
    corpus.forEach((e, i) => {
      const again = compilePolicy(e.policy, { source: `corpus#${i}` });
      expect(again.rego).toBe(compiled[i]!.rego);
      expect(again.testRego).toBe(compiled[i]!.testRego);
      expect(again.explanation).toEqual(compiled[i]!.explanation);
    });
  });

  it('the generated Rego passes opa check --strict and the generated tests pass opa test', () => {
    const dir = join(tmp.dir, 'opa-test');
    mkdirSync(dir, { recursive: true });
    compiled.forEach((c, i) => {
      writeFileSync(join(dir, `p${i}.rego`), renamePackage(c.rego, pkg(i)));
      writeFileSync(
        join(dir, `p${i}_test.rego`),
        c.testRego
          .replace(/^package envoy\.authz_test$/m, `package ${pkg(i)}_test`)
          .replace(/^import data\.envoy\.authz$/m, `import data.${pkg(i)} as authz`),
      );
      writeFileSync(
        join(dir, `p${i}_decision_test.rego`),
        c.decisionTestRego
          .replace(/^package envoy\.authz_decision_test$/m, `package ${pkg(i)}_decision_test`)
          .replace(/^import data\.envoy\.authz$/m, `import data.${pkg(i)} as authz`),
      );
    });
    execFileSync(OPA, ['check', '--strict', dir], { stdio: 'pipe' });
    const out = execFileSync(OPA, ['test', '--format', 'json', dir], {
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    });
    const results = JSON.parse(out) as Array<{ name: string; fail?: boolean; error?: unknown }>;
    // Every rule has a positive case, and a negative one unless it matches every request.
    const rules = compiled.flatMap((c) => c.sentences.filter((s) => s.kind === 'rule'));
    const everything = rules.filter(
      (r) => r.subject.anyone && r.action.kind === 'anything' && r.conditions.length === 0,
    );
    expect(everything.length).toBeLessThan(10);
    expect(results.filter((r) => r.name.endsWith('_matches')).length).toBe(rules.length);
    expect(results.filter((r) => r.name.endsWith('_other_request')).length).toBe(
      rules.length - everything.length,
    );
    // The decision tests: the words' decision computed apart from the Rego, on the same requests, agrees with OPA.
    expect(results.filter((r) => r.name.endsWith('_decision')).length).toBe(
      2 * rules.length - everything.length,
    );
    expect(results.filter((r) => r.fail || r.error)).toEqual([]);
  });

  it('every case decides as written under opa eval', () => {
    const modules: Record<string, string> = {};
    compiled.forEach((c, i) => {
      modules[`p${i}.rego`] = renamePackage(c.rego, pkg(i));
    });
    const cases = corpus.flatMap((e, i) => e.cases.map((c) => ({ i, c })));
    const decisions = opaEvalBatch(
      join(tmp.dir, 'eval'),
      modules,
      cases.map(({ i, c }) => ({ pkg: pkg(i), input: inputFor(c), nowMs: atMs(c) })),
    );
    expect(decisions.length).toBe(cases.length);
    cases.forEach(({ i, c }, k) => {
      expect(decisions[k], `#${i} ${JSON.stringify(c)}`).not.toBeNull();
      expectCase(c, verdictOfDecision(decisions[k]), `#${i} ${corpus[i]!.policy} ${JSON.stringify(c)}`);
    });
  });

  it('deny wins: allowed exactly when some allow rule and no deny rule matches', () => {
    const modules: Record<string, string> = {};
    compiled.forEach((c, i) => {
      modules[`p${i}.rego`] = renamePackage(c.rego, pkg(i));
    });
    const cases = corpus.flatMap((e, i) => e.cases.map((c) => ({ i, c })));
    const values = opaEvalBatch(
      join(tmp.dir, 'deny-wins'),
      modules,
      cases.map(({ i, c }) => ({ pkg: pkg(i), input: inputFor(c), nowMs: atMs(c) })),
      (p) =>
        `{"allow": data.${p}.allow, "a": [x | some x in data.${p}.allowed_by], "d": [x | some x in data.${p}.denied_by]}`,
    ) as Array<{ allow: unknown; a: string[]; d: string[] }>;
    let both = 0;
    values.forEach((v, k) => {
      const where = `#${cases[k]!.i} ${JSON.stringify(cases[k]!.c)}`;
      expect(verdictOfDecision(v.allow).allowed, where).toBe(v.a.length > 0 && v.d.length === 0);
      if (v.a.length > 0 && v.d.length > 0) both++;
    });
    // Requests that an allow and a deny sentence both match, all denied.
    expect(both).toBeGreaterThanOrEqual(20);
  });

  describe('through the live Check path', () => {
    const deciders: HookDecider[] = [];
    let bundleFile = '';
    beforeAll(() => {
      // One Wasm bundle holding every corpus policy (package renamed), one entrypoint each.
      const src = join(tmp.dir, 'bundle-src');
      mkdirSync(src, { recursive: true });
      for (const [i, c] of compiled.entries())
        writeFileSync(join(src, `p${i}.rego`), renamePackage(c.rego, pkg(i)));
      bundleFile = join(tmp.dir, 'corpus.tar.gz');
      execFileSync(
        OPA,
        [
          'build',
          '-t',
          'wasm',
          ...compiled.flatMap((_, i) => ['-e', `corpus/p${i}/allow`]),
          '-o',
          bundleFile,
          '.',
        ],
        { cwd: src, stdio: 'pipe' },
      );
    }, 120_000);
    afterAll(async () => {
      await Promise.all(deciders.map((d) => d.close?.()));
    });

    function code(res: CheckResponse): { allowed: boolean; status?: number; body?: string; code: string } {
      if (okOf(res)) return { allowed: true, code: 'OK' };
      const d = deniedOf(res)!;
      let c = 'UNKNOWN';
      try {
        c = String((JSON.parse(d.body) as { code: string }).code);
      } catch {
        c = 'POLICY_DENIED';
      }
      return { allowed: false, status: Number(d.status!.code), body: d.body, code: c };
    }

    it('every case decides as written', async () => {
      const clock = frozenClock(0);
      const id = testIdentity(clock);
      const trust = createTrustStore({
        jwks: { keys: id.jwks.keys.map((k) => ({ ...k })) },
        issuers: [ISS],
        trustDomains: ['sigil.mesh', 'partner.example'],
      });
      let n = 0;
      for (const [i, entry] of corpus.entries()) {
        const config = loadConfig({
          env: {},
          overrides: {
            agent: { spiffe_id: agentId('local') },
            // Route-only requests name no tool: allowed on the verified identity, so the policy decides them.
            authz: { public_routes: [{ method: '*', path: '/healthz' }], require_tool: false },
            policy: { bundle: bundleFile, entrypoint: `corpus/p${i}/allow`, eval_timeout_ms: 5000 },
          },
        });
        const decider = (await createPolicyDecider(config, { registry: new Registry(), clock }))!;
        deciders.push(decider);
        const sink = memorySink();
        const { check } = checkFromConfig(config, { trust, ledger: sink, clock, policy: decider });
        for (const c of entry.cases) {
          clock.advance(atMs(c) - clock.nowMs());
          const token = c.public ? undefined : tokenFor(id, c);
          const got = code(await check(checkRequestFor(c, token)));
          const where = `#${i} ${entry.policy} ${JSON.stringify(c)}`;
          // A deny must come from the policy, never from an earlier step the case did not intend.
          if (!got.allowed && c.status === undefined) expect(got.code, where).toBe('POLICY_DENIED');
          expectCase(c, got, where);
          n++;
        }
        await decider.close?.();
        deciders.pop();
      }
      expect(n).toBeGreaterThanOrEqual(150);
    }, 120_000);
  });
});
