/**
 * Corpus harness for the controlled-English compiler: the YAML corpus, concrete requests as CheckRequests and
 * token chains (real Ed25519 tokens), the input document SIGIL builds for them, and one batch `opa eval`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { CheckRequest } from '../../gen/envoy/service/auth/v3/external_auth_pb.js';
import { buildPolicyInput, type SigilPolicyInput } from '../../src/policy/index.js';
import { OPA } from '../policy/support.js';
import { checkRequest, type RequestParts, toolsCall } from '../support/check-request.js';
import { ISS, type TestIdentity } from '../support/identity.js';

/** One request of the corpus (see the header of test/fixtures/nlpolicy/corpus.yaml). */
export interface CaseSpec {
  agent?: string;
  chain?: string[];
  task?: string;
  tool?: string;
  tools?: string[];
  method?: string;
  path?: string;
  body?: number;
  at?: string;
  public?: boolean;
  expect: 'allow' | 'deny';
  status?: number;
  message?: string;
}

/** One policy of the corpus and its requests. */
export interface CorpusEntry {
  policy: string;
  cases: CaseSpec[];
}

/** The corpus. */
export function loadCorpus(): CorpusEntry[] {
  return parse(readFileSync('test/fixtures/nlpolicy/corpus.yaml', 'utf8')) as CorpusEntry[];
}

/** `type/instance` → spiffe://sigil.mesh/agent/type/instance; full IDs as they are. */
export const spiffe = (s: string): string =>
  s.startsWith('spiffe://') ? s : `spiffe://sigil.mesh/agent/${s}`;

/** Default evaluation time: Wednesday 2026-01-07 10:00 UTC. */
export const DEFAULT_AT = '2026-01-07T10:00:00Z';

/** Epoch ms of a case. */
export const atMs = (c: CaseSpec): number => Date.parse(c.at ?? DEFAULT_AT);

function toolsOf(c: CaseSpec): string[] {
  return c.tools ?? (c.tool !== undefined ? [c.tool] : []);
}

/** The HTTP request of a case (without the token). */
export function requestParts(c: CaseSpec): RequestParts {
  const tools = toolsOf(c);
  if (c.public && tools.length === 0) return { method: c.method ?? 'GET', path: c.path ?? '/healthz' };
  if (c.body !== undefined)
    return {
      method: c.method ?? 'POST',
      path: c.path ?? '/upload',
      body: 'x'.repeat(c.body),
      headers: { 'content-type': 'text/plain', ...(tools.length > 0 ? { 'x-sigil-tool': tools[0]! } : {}) },
    };
  if (tools.length > 0) {
    const calls = tools.map((t, i) => toolsCall(t, i + 1));
    return {
      method: c.method ?? 'POST',
      path: c.path ?? (c.public ? '/healthz' : '/mcp'),
      body: JSON.stringify(calls.length === 1 ? calls[0] : calls),
      headers: { 'content-type': 'application/json' },
    };
  }
  return { method: c.method ?? 'GET', path: c.path ?? '/' };
}

/** Holders of the chain, root first; the last is the case's agent. */
export function holders(c: CaseSpec): string[] {
  return [...(c.chain ?? []), c.agent!].map(spiffe);
}

/** A real token chain for the case: a root minted for the first holder, delegated down to the agent. */
export function tokenFor(id: TestIdentity, c: CaseSpec): string {
  const [root, ...rest] = holders(c);
  let cur = id.mint({ sub: root!, scope: ['*'], task: c.task ?? 'task-1' });
  for (const sub of rest) cur = id.delegate(cur.token, cur.holder, sub, ['*']);
  return cur.token;
}

/** `input.sigil` as the pipeline builds it for the case (docs/policy.md §3). */
export function sigilFor(c: CaseSpec): SigilPolicyInput {
  const tools = toolsOf(c);
  if (c.public) return { valid: false, code: 'AUTHZ_PUBLIC_ROUTE', hops: [], tools, public_route: true };
  const subs = holders(c);
  const exp = Math.floor(atMs(c) / 1000) + 300;
  return {
    valid: true,
    code: 'OK',
    sub: subs.at(-1)!,
    iss: ISS,
    task_id: c.task ?? 'task-1',
    ...(tools.length === 1 ? { tool: tools[0]! } : {}),
    tools,
    tool_scope: ['*'],
    depth: subs.length,
    exp,
    hops: subs.map((sub, i) => ({
      sub,
      iss: i === 0 ? ISS : subs[i - 1]!,
      jti: `jti-${i}`,
      tool_scope: ['*'],
      exp,
    })),
    public_route: false,
  };
}

/** The CheckRequest of a case, with its token unless public. */
export function checkRequestFor(c: CaseSpec, token?: string): CheckRequest {
  return checkRequest(requestParts(c), token);
}

/** The policy input SIGIL builds for the case (buildPolicyInput over the CheckRequest + input.sigil). */
export function inputFor(c: CaseSpec): unknown {
  return buildPolicyInput({
    checkRequest: checkRequestFor(c, c.public ? undefined : 'token'),
    sigil: sigilFor(c),
  });
}

/** The Rego with its package renamed, so many compiled policies can share one OPA run or one bundle. */
export function renamePackage(rego: string, pkg: string): string {
  return rego.replace(/^package envoy\.authz$/m, `package ${pkg}`);
}

/**
 * Evaluates `expr(pkg)` (default `data.<pkg>.allow`) for every (package, input, time) with one real `opa eval`,
 * `time.now_ns` pinned per case with `with`. Returns the values in order (null where undefined).
 */
export function opaEvalBatch(
  dir: string,
  modules: Record<string, string>,
  cases: Array<{ pkg: string; input: unknown; nowMs: number }>,
  expr: (pkg: string) => string = (pkg) => `data.${pkg}.allow`,
): unknown[] {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(modules)) writeFileSync(join(dir, name), text);
  const rules = cases.map(
    (c, i) =>
      `r${i} := x if {\n\tx := ${expr(c.pkg)} with input as data.nlcases[${i}].input with time.now_ns as ${c.nowMs}000000\n} else := null`,
  );
  writeFileSync(
    join(dir, 'harness.rego'),
    `package nlharness\n\nimport rego.v1\n\n${rules.join('\n\n')}\n\nresults := [${cases.map((_, i) => `r${i}`).join(', ')}]\n`,
  );
  writeFileSync(join(dir, 'data.json'), JSON.stringify({ nlcases: cases.map((c) => ({ input: c.input })) }));
  const out = execFileSync(OPA, ['eval', '--format', 'json', '-b', dir, 'data.nlharness.results'], {
    maxBuffer: 64 * 1024 * 1024,
    encoding: 'utf8',
  });
  return (JSON.parse(out) as { result: Array<{ expressions: Array<{ value: unknown[] }> }> }).result[0]!
    .expressions[0]!.value;
}
