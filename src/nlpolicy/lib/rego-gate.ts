/**
 * The gate an LLM's Rego must pass before anyone sees it as a candidate (docs/policy-llm.md), with the
 * real OPA CLI: it parses (`opa parse`), passes `opa check --strict`, passes it again under capabilities
 * without the forbidden builtins (so a call cannot hide behind any spelling), has no unconditional allow, and
 * its own tests pass (`opa test`). {@link evalDecisions} evaluates `data.envoy.authz.allow` on concrete inputs.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NlPolicyLlmError } from '../llm-errors.js';

/**
 * Builtins an LLM policy may not call: network access, the runtime's environment and configuration, and
 * randomness (a decision must depend only on the request). `time.now_ns` stays allowed: SIGIL pins it to the
 * decision time (docs/policy.md §3), which time conditions need. `net.cidr_*` are pure and stay allowed.
 */
export const FORBIDDEN_BUILTINS: readonly string[] = [
  'http.send',
  'opa.runtime',
  'net.lookup_ip_addr',
  'rand.intn',
  'uuid.rfc4122',
  'trace',
];

/** The policy and its tests, as the model wrote them. */
export interface RegoAnswer {
  policy: string;
  tests: string;
}

/** A concrete request: the input document and `time.now_ns()`. */
export interface DecisionInput {
  input: unknown;
  nowNs: bigint;
}

const capsCache = new Map<string, string>();

function opaRun(opa: string, args: string[], cwd: string) {
  const r = spawnSync(opa, args, { cwd, encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() || String(r.error ?? '') };
}

/** OPA's own capabilities minus {@link FORBIDDEN_BUILTINS} (computed once per opa binary). */
function restrictedCapabilities(opa: string, dir: string): string {
  let caps = capsCache.get(opa);
  if (caps === undefined) {
    const r = spawnSync(opa, ['capabilities', '--current'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (r.status !== 0)
      throw new NlPolicyLlmError('NLPOLICY_LLM_CONFIG', `opa capabilities failed: ${r.stderr}`);
    const all = JSON.parse(r.stdout) as { builtins: { name: string }[] };
    all.builtins = all.builtins.filter(
      (b) => !FORBIDDEN_BUILTINS.includes(b.name) && !b.name.startsWith('rand.'),
    );
    caps = JSON.stringify(all);
    capsCache.set(opa, caps);
  }
  const file = join(dir, '..', 'capabilities.json');
  writeFileSync(file, caps);
  return file;
}

/** The first ```rego block whose package line is `pkg`, else undefined. */
function block(answer: string, pkg: string): string | undefined {
  for (const m of answer.matchAll(/```rego[ \t]*\r?\n([\s\S]*?)```/g)) {
    const text = m[1]!;
    if (new RegExp(`^\\s*package\\s+${pkg.replace('.', '\\.')}\\s*$`, 'm').test(text)) return text;
  }
  return undefined;
}

/** The policy (`package envoy.authz`) and test (`package envoy.authz_test`) blocks of an answer. */
export function extractRego(answer: string): RegoAnswer {
  const policy = block(answer, 'envoy.authz');
  const tests = block(answer, 'envoy.authz_test');
  if (policy === undefined)
    throw new NlPolicyLlmError(
      'NLPOLICY_LLM_BAD_ANSWER',
      'the answer has no ```rego block with package envoy.authz',
    );
  if (tests === undefined)
    throw new NlPolicyLlmError(
      'NLPOLICY_LLM_TESTS_FAILED',
      'the answer has no ```rego test block with package envoy.authz_test',
    );
  return { policy, tests };
}

/** True for a rule of `allow` that is unconditionally true (`default allow := true`, `allow := true`, `allow if true`). */
function unconditionalAllow(ast: { rules?: unknown[] }): boolean {
  for (const rule of (ast.rules ?? []) as {
    default?: boolean;
    head?: { name?: string; ref?: { value?: unknown }[]; value?: { type?: string; value?: unknown } };
    body?: { terms?: { type?: string; value?: unknown } }[];
  }[]) {
    const name = rule.head?.name ?? rule.head?.ref?.[0]?.value;
    if (name !== 'allow') continue;
    const value = rule.head?.value;
    const trueValue = value === undefined || (value.type === 'boolean' && value.value === true);
    if (!trueValue) continue;
    if (rule.default) return true;
    const body = rule.body ?? [];
    if (body.length === 1 && body[0]!.terms?.type === 'boolean' && body[0]!.terms.value === true) return true;
  }
  return false;
}

/** Runs every check on `answer`; throws the NLPOLICY_LLM_* refusal of the first that fails. */
export function gateRego(answer: RegoAnswer, opa: string): void {
  const root = mkdtempSync(join(tmpdir(), 'sigil-nlpolicy-llm-'));
  const dir = join(root, 'src');
  try {
    mkdirSync(dir);
    writeFileSync(join(dir, 'policy.rego'), answer.policy);
    writeFileSync(join(dir, 'policy_test.rego'), answer.tests);
    for (const f of ['policy.rego', 'policy_test.rego']) {
      const r = opaRun(opa, ['parse', '--format', 'json', f], dir);
      if (!r.ok) throw new NlPolicyLlmError('NLPOLICY_LLM_PARSE', `${f} does not parse`, r.out);
      if (f === 'policy.rego' && unconditionalAllow(JSON.parse(r.out)))
        throw new NlPolicyLlmError(
          'NLPOLICY_LLM_TOO_WIDE',
          'the policy allows unconditionally (an allow rule without a condition is wider than any sentence)',
        );
    }
    const check = opaRun(opa, ['check', '--strict', '.'], dir);
    if (!check.ok) throw new NlPolicyLlmError('NLPOLICY_LLM_CHECK', 'opa check --strict failed', check.out);
    const caps = restrictedCapabilities(opa, dir);
    const restricted = opaRun(opa, ['check', '--strict', '--capabilities', caps, '.'], dir);
    if (!restricted.ok) {
      const names = [...restricted.out.matchAll(/undefined function ([\w.]+)/g)].map((m) => m[1]);
      throw new NlPolicyLlmError(
        'NLPOLICY_LLM_FORBIDDEN_BUILTIN',
        `the policy calls a forbidden builtin: ${[...new Set(names)].join(', ') || '(see details)'}`,
        restricted.out,
      );
    }
    const test = opaRun(opa, ['test', '--format', 'json', '.'], dir);
    let results: { fail?: boolean; error?: unknown; skip?: boolean; name?: string }[] = [];
    try {
      results = JSON.parse(test.out);
    } catch {
      // opa test prints non-JSON only when it could not run at all.
    }
    const failed = results.filter((t) => t.fail || t.error);
    if (!test.ok || failed.length > 0)
      throw new NlPolicyLlmError(
        'NLPOLICY_LLM_TESTS_FAILED',
        `the answer's own tests fail${failed.length ? `: ${failed.map((t) => t.name).join(', ')}` : ''}`,
        test.out.slice(0, 4000),
      );
    if (results.filter((t) => !t.skip).length === 0)
      throw new NlPolicyLlmError('NLPOLICY_LLM_TESTS_FAILED', 'the answer has no tests');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * `data.envoy.authz.allow` of `policy` on each input (true/false; an object decision gives its `allowed`; an
 * undefined decision is false, as SIGIL denies it).
 */
export function evalDecisions(policy: string, inputs: readonly DecisionInput[], opa: string): boolean[] {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-nlpolicy-eval-'));
  try {
    writeFileSync(join(dir, 'policy.rego'), policy);
    const lines = inputs.map(
      (c, i) =>
        `c${i} := d if {\n\td := data.envoy.authz.allow with input as ${JSON.stringify(c.input)} with time.now_ns as ${c.nowNs}\n}`,
    );
    writeFileSync(join(dir, 'cases.rego'), `package nlpolicy_llm_cases\n\n${lines.join('\n')}\n`);
    const r = opaRun(
      opa,
      ['eval', '--format', 'json', '-d', 'policy.rego', '-d', 'cases.rego', 'data.nlpolicy_llm_cases'],
      dir,
    );
    if (!r.ok)
      throw new NlPolicyLlmError(
        'NLPOLICY_LLM_CHECK',
        'the policy fails on a test request',
        r.out.slice(0, 4000),
      );
    const value =
      (JSON.parse(r.out) as { result?: { expressions: { value: Record<string, unknown> }[] }[] }).result?.[0]
        ?.expressions[0]?.value ?? {};
    return inputs.map((_, i) => {
      const d = value[`c${i}`];
      if (typeof d === 'boolean') return d;
      if (typeof d === 'object' && d !== null) return (d as { allowed?: unknown }).allowed === true;
      return false;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
