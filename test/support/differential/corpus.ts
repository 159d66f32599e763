/** The differential test's policy corpus (test/fixtures/differential/*.rego) and its builtin coverage. */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { sigilBuiltins } from '../../../src/policy/lib/builtins.js';

const DIR = resolve(import.meta.dirname, '../../fixtures/differential');

/** Absolute paths of the corpus policies, sorted. */
export function diffCorpus(): string[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.rego'))
    .sort()
    .map((f) => join(DIR, f));
}

/**
 * Builtins a Wasm policy may import that SIGIL can serve: SIGIL's host builtins and opa-wasm's JS ones (read
 * from the installed package, as the bundle loader does).
 */
export function providedBuiltins(): string[] {
  const opaWasm = createRequire(createRequire(import.meta.url).resolve('@open-policy-agent/opa-wasm'));
  return [
    ...Object.keys(sigilBuiltins({ nowNs: 0n })),
    ...Object.keys(opaWasm('./builtins/index.js') as Record<string, unknown>),
  ].sort();
}

/** Provided builtins that no corpus policy calls (`name(` in its source). */
export function missingBuiltinCoverage(): string[] {
  const text = diffCorpus()
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
  return providedBuiltins().filter((b) => !text.includes(`${b}(`));
}
