/**
 * Free-form English → Rego through an LLM (Anthropic Messages API), never trusted (docs/policy-llm.md):
 * the answer's Rego must parse, pass `opa check --strict`, call no forbidden builtin, allow nothing
 * unconditionally, pass the tests it was asked to write, and give the deterministic compiler's decisions on
 * the sentences that compiler can parse (and deny requests no sentence names). The caller shows
 * {@link LlmCompiled.diff} to the operator before anything is written or built.
 */

import {
  type CheckCase,
  type DeterministicTestSource,
  deterministicTests,
} from './lib/deterministic-cases.js';
import { askMessagesApi, type MessagesApiOptions } from './lib/messages-api.js';
import { evalDecisions, extractRego, FORBIDDEN_BUILTINS, gateRego } from './lib/rego-gate.js';
import { unifiedDiff } from './lib/unified-diff.js';
import { NlPolicyLlmError } from './llm-errors.js';

export type { CheckCase, DeterministicTestSource, DeterministicTests } from './lib/deterministic-cases.js';
export { ANTHROPIC_VERSION, type MessagesApiOptions } from './lib/messages-api.js';
export { FORBIDDEN_BUILTINS } from './lib/rego-gate.js';

/** Options of {@link compileWithLlm}. */
export interface LlmCompileOptions {
  api: MessagesApiOptions;
  /** The OPA CLI. */
  opa: string;
  /** The policy in force (Rego text), for the diff; empty or absent = none. */
  current?: string;
  /** Deterministic test set (default: this module's compiler, one sentence at a time). */
  deterministic?: DeterministicTestSource;
}

/** An accepted answer. */
export interface LlmCompiled {
  /** `policy.rego` (package envoy.authz). */
  rego: string;
  /** The tests the model wrote (`policy_test.rego`, package envoy.authz_test). */
  testRego: string;
  /** Unified diff from the current policy to {@link rego}. */
  diff: string;
  /** Sentences the deterministic compiler parsed (their decisions were checked) and those it could not. */
  parsed: string[];
  unparsed: string[];
  /** Concrete requests checked against the deterministic side. */
  checked: number;
}

/** The system prompt: SIGIL's input document and the answer's required shape. */
export const LLM_SYSTEM_PROMPT = `You translate an operator's English access policy into Rego v1 (OPA 1.x) for SIGIL, an Envoy ext_authz sidecar.
Write exactly two fenced blocks, \`\`\`rego … \`\`\` each:
1. the policy: "package envoy.authz", "default allow := false", and "allow" rules (a boolean) that allow exactly what the words allow; deny sentences win over allow sentences. Allow nothing the words do not name.
2. tests: "package envoy.authz_test" with "import data.envoy.authz", one test that a matching request is allowed and one that a request outside the words is denied, per sentence ("authz.allow with input as {...}"; pin time with "with time.now_ns as <ns>").
The input document (opa-envoy-plugin shape):
- input.sigil.valid (true when a verified delegation chain is present), input.sigil.sub (leaf agent SPIFFE ID spiffe://<trust domain>/agent/<type>/<instance>), input.sigil.task_id, input.sigil.tools (array of tool names such as "web.search"), input.sigil.tool (when exactly one), input.sigil.depth (chain length, root = 1), input.sigil.hops (array of {sub, iss}, root first; the last hop is the leaf), input.sigil.public_route;
- input.attributes.request.http.method, input.attributes.request.http.path (may include "?query"), input.parsed_path (path segments), input.attributes.request.http.headers (lower-case names), input.attributes.request.http.size.
Tool patterns: "name", "prefix.*" (every tool starting with "prefix."), "*".
Never call ${FORBIDDEN_BUILTINS.join(', ')} or any rand.* builtin; time.now_ns() is the decision time.
"opa check --strict" must pass: no unused variables or imports.`;

function userPrompt(text: string, det: ReturnType<DeterministicTestSource>): string {
  const parts = [`The policy, in English:\n\n${text.trim()}\n`];
  if (det.rego)
    parts.push(
      `For these sentences a reference compiler gives the Rego below; your policy must take the same decisions on them:\n${det.parsed
        .map((s) => `- ${s}`)
        .join('\n')}\n\n\`\`\`rego\n${det.rego}\`\`\``,
    );
  return parts.join('\n');
}

/** Judges the policy's decisions on the deterministic cases; throws the refusal for the first that fails. */
function judge(rego: string, cases: CheckCase[], expected: boolean[] | undefined, opa: string): void {
  if (cases.length === 0) return;
  const got = evalDecisions(rego, cases, opa);
  cases.forEach((c, i) => {
    const want = c.rule === 'same' ? expected![i]! : false;
    if (got[i] === want) return;
    const detail = `request: ${JSON.stringify(c.input)}\ntime.now_ns: ${c.nowNs}`;
    if (got[i])
      throw new NlPolicyLlmError(
        'NLPOLICY_LLM_TOO_WIDE',
        `the policy allows what the words deny: ${c.name} must be denied`,
        detail,
      );
    throw new NlPolicyLlmError(
      'NLPOLICY_LLM_MISMATCH',
      `the policy denies what the words allow: ${c.name} must be allowed (as the deterministic compiler decides)`,
      detail,
    );
  });
}

/**
 * Asks the model for a policy for `text` and checks its answer. Resolves only with an answer that passed every
 * check; rejects with the NLPOLICY_LLM_* code of the first check that failed.
 */
export async function compileWithLlm(text: string, o: LlmCompileOptions): Promise<LlmCompiled> {
  const det = (o.deterministic ?? deterministicTests)(text);
  const answer = await askMessagesApi(o.api, LLM_SYSTEM_PROMPT, userPrompt(text, det));
  const rego = extractRego(answer);
  gateRego(rego, o.opa);
  const same = det.cases.filter((c) => c.rule === 'same');
  const expected =
    same.length > 0 && det.rego !== undefined ? evalDecisions(det.rego, det.cases, o.opa) : undefined;
  judge(rego.policy, det.cases, expected, o.opa);
  const policy = rego.policy.endsWith('\n') ? rego.policy : `${rego.policy}\n`;
  return {
    rego: policy,
    testRego: rego.tests.endsWith('\n') ? rego.tests : `${rego.tests}\n`,
    diff: unifiedDiff(o.current ?? '', policy, 'current/policy.rego', 'candidate/policy.rego'),
    parsed: det.parsed,
    unparsed: det.unparsed,
    checked: det.cases.length,
  };
}
