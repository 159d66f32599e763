/**
 * The real OPA on a compiled policy (docs/policy-language.md §7): `opa check --strict` and `opa test` on the Rego
 * with its generated tests, and the Wasm bundle built from the Rego alone. Behind `sigil policy compile --check /
 * --build` and the admin API's `POST /api/policy/activate`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProcess } from '../lib/run-process.js';
import { buildBundle, DEFAULT_ENTRYPOINT, findOpa } from '../policy/index.js';
import type { CompiledPolicy } from './compile-policy.js';
import { NlPolicyError } from './errors.js';

function checkFailed(message: string): NlPolicyError {
  return new NlPolicyError('NLPOLICY_CHECK_FAILED', message, {
    line: 0,
    column: 0,
    words: '',
    sentence: '',
    suggestion: '',
  });
}

/**
 * Runs `opa check --strict` and `opa test` on the compiled policy with its rule tests and decision tests, alone in
 * a fresh directory (so no other .rego
 * next to it can change what is checked). Returns opa test's summary line.
 */
export async function checkCompiled(c: CompiledPolicy): Promise<string> {
  const opa = findOpa();
  if (!opa)
    throw checkFailed('opa CLI not found: put it on PATH, set SIGIL_OPA, or run scripts/setup-tools.sh');
  const dir = mkdtempSync(join(tmpdir(), 'sigil-nlpolicy-'));
  try {
    writeFileSync(join(dir, 'policy.rego'), c.rego);
    writeFileSync(join(dir, 'policy_test.rego'), c.testRego);
    // The decision the words give on the same requests, computed apart from the Rego: the two must agree.
    writeFileSync(join(dir, 'policy_decision_test.rego'), c.decisionTestRego);
    const check = await runProcess(opa, ['check', '--strict', '.'], { cwd: dir });
    if (check.status !== 0)
      throw checkFailed(
        `opa check --strict failed:\n${(check.stderr || check.stdout || String(check.error)).trim()}`,
      );
    const test = await runProcess(opa, ['test', '.'], { cwd: dir });
    if (test.status !== 0)
      throw checkFailed(`opa test failed:\n${(test.stdout || test.stderr || String(test.error)).trim()}`);
    return test.stdout.trim().split('\n').at(-1) ?? '';
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Builds the Wasm bundle (`buildBundle`, as `sigil policy build`) from a directory holding the compiled
 * policy.rego alone, so nothing but the compiled words goes in. Run {@link checkCompiled} first.
 */
export async function buildCompiledBundle(
  c: CompiledPolicy,
  o: { output: string; revision?: string },
): Promise<Awaited<ReturnType<typeof buildBundle>>> {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-nlpolicy-build-'));
  try {
    writeFileSync(join(dir, 'policy.rego'), c.rego);
    return await buildBundle(dir, {
      entrypoints: [DEFAULT_ENTRYPOINT],
      output: o.output,
      ...(o.revision !== undefined ? { revision: o.revision } : {}),
      print: false,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
