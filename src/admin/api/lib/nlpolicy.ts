/**
 * The policy view's authoring backend (docs/api.md "Admin API", docs/policy-language.md §7): controlled English →
 * Rego, tests and explanation; the replay of the running sidecar's ledger under a candidate; and activation, which
 * compiles, runs the real `opa check --strict` + `opa test`, builds the Wasm bundle exactly as `sigil policy
 * compile --build` does and hands it to the policy upload (hot reload, revision recorded, `policy.activate` ledger
 * entry). Text that does not compile in full is refused: nothing partial is ever built or activated.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MerkleLog } from '../../../ledger/index.js';
import { sha256 } from '../../../lib/bytes.js';
import {
  buildCompiledBundle,
  type CompiledPolicy,
  checkCompiled,
  compilePolicy,
  NlPolicyError,
} from '../../../nlpolicy/index.js';
import {
  DecisionReplay,
  findOpa,
  inputDependencies,
  loadBundle,
  type ReplayReport,
} from '../../../policy/index.js';
import type { PolicyInfo } from '../types.js';

/** One refused sentence, as `POST /api/policy/compile` reports it. */
export interface CompileErrorView {
  code: string;
  message: string;
  line: number;
  column: number;
  words: string;
  suggestion: string;
}

/** `POST /api/policy/compile`'s answer: the three outputs, or (all empty) the errors. */
export interface CompileView {
  rego: string;
  testRego: string;
  explanation: { rule: string; line: number; words: string }[];
  errors: CompileErrorView[];
}

function errorView(e: NlPolicyError): CompileErrorView {
  return {
    code: e.code,
    message: e.message,
    line: e.line,
    column: e.column,
    words: e.words,
    suggestion: e.suggestion,
  };
}

/** Compiles `text`; a refused text is an answer (with its errors), not an HTTP error. */
export function compileView(text: string): CompileView {
  try {
    const c = compilePolicy(text, { source: 'policy' });
    return {
      rego: c.rego,
      testRego: c.testRego,
      explanation: c.explanation.map((e) => ({ rule: e.rule, line: e.line, words: e.words })),
      errors: [],
    };
  } catch (e) {
    if (!(e instanceof NlPolicyError)) throw e;
    return { rego: '', testRego: '', explanation: [], errors: [errorView(e)] };
  }
}

/** Checks and builds the compiled policy; resolves with the bundle bytes. Throws NLPOLICY_* / POLICY_* errors. */
async function checkAndBuild(c: CompiledPolicy): Promise<{ bytes: Uint8Array; tests: string }> {
  const tests = await checkCompiled(c);
  const dir = mkdtempSync(join(tmpdir(), 'sigil-admin-nl-'));
  try {
    const output = join(dir, 'bundle.tar.gz');
    // Same words → same revision: the operator can tell a re-activation of the same policy from a new one.
    await buildCompiledBundle(c, { output, revision: `nl-${sha256(c.rego, 'hex').slice(0, 16)}` });
    return { bytes: new Uint8Array(readFileSync(output)), tests };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A replay candidate: English text, or a built bundle with the Rego it was built from. */
type Candidate = { text: string } | { bundle: Uint8Array; sources?: Record<string, string> | undefined };

/** The authoring operations over the running sidecar's policy upload and ledger. */
export function adminNlPolicy(deps: {
  entrypoint: string;
  upload: (bundle: Uint8Array) => Promise<PolicyInfo>;
  ledger: () => MerkleLog;
  timeoutMs?: number;
}) {
  // One authoring operation at a time: each runs several OPA processes, and two activations must not interleave.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  };
  return {
    /**
     * Replays the in-process ledger (no second LMDB open) in [since, until] under the candidate: English `text`
     * (compiled, checked and built first) or a built `bundle`, with the Rego `sources` it was built from (default:
     * the bundle's own, which `opa build` strips of the entrypoint rules: then every decision is not replayable).
     */
    replay(candidate: Candidate, since?: number, until?: number): Promise<ReplayReport> {
      return serial(() => replayOnce(candidate, since, until));
    },
    /** Compiles, checks and builds `text`, then swaps the bundle in through the policy upload. */
    activate(text: string): Promise<{ policy: PolicyInfo; revision: string; tests: string; rules: number }> {
      return serial(async () => {
        const c = compilePolicy(text, { source: 'policy' });
        const { bytes, tests } = await checkAndBuild(c);
        const policy = await deps.upload(bytes);
        return { policy, revision: policy.revision ?? '', tests, rules: c.explanation.length };
      });
    },
  };

  async function replayOnce(candidate: Candidate, since?: number, until?: number): Promise<ReplayReport> {
    const log = deps.ledger();
    let bytes: Uint8Array;
    let sources: Record<string, string> | undefined;
    if ('text' in candidate) {
      const c = compilePolicy(candidate.text, { source: 'policy' });
      bytes = (await checkAndBuild(c)).bytes;
      sources = { 'policy.rego': c.rego };
    } else {
      bytes = candidate.bundle;
      sources = candidate.sources;
    }
    const bundle = await loadBundle(bytes, { entrypoint: deps.entrypoint });
    const replay = new DecisionReplay(bundle, {
      dependencies: await inputDependencies(bytes, bundle.entrypoint, findOpa(), sources),
      ...(deps.timeoutMs !== undefined ? { timeoutMs: deps.timeoutMs } : {}),
    });
    return (await replay.scanYielding(log, since, until)).report();
  }
}
