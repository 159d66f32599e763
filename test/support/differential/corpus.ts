/** The differential test's policy corpus (test/fixtures/differential/*.rego) and its builtin coverage. */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { missingBuiltins } from '../../../src/policy/lib/builtins.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const DIR = join(ROOT, 'test/fixtures/differential');

/** Absolute paths of the corpus policies, sorted. */
export function diffCorpus(): string[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.rego'))
    .sort()
    .map((f) => join(DIR, f));
}

/**
 * The OPA builtins a Wasm policy may import from the host that SIGIL serves (its own and opa-wasm's JS ones):
 * every builtin of the pinned OPA (`opa capabilities --current`) the bundle loader would not call missing.
 */
export function providedBuiltins(): string[] {
  const caps = JSON.parse(
    execFileSync(join(ROOT, '.tools/bin/opa'), ['capabilities', '--current'], {
      maxBuffer: 64 << 20,
    }).toString(),
  ) as { builtins: { name: string }[] };
  return caps.builtins
    .map((b) => b.name)
    .filter((n) => missingBuiltins([n]).length === 0)
    .sort();
}

/** Provided builtins that no corpus policy calls (`name(` in its source). */
export function missingBuiltinCoverage(): string[] {
  const text = diffCorpus()
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
  return providedBuiltins().filter((b) => !text.includes(`${b}(`));
}
