/**
 * SigilPolicy → OPA Wasm bundle with the real OPA: English is first compiled to Rego by SIGIL's controlled-English
 * compiler and checked with `opa check --strict` + `opa test` (as `sigil policy compile --check`); Rego is built
 * as `sigil policy build` does (`opa build -t wasm`, then SIGIL's own loader on the result).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCompiledBundle, checkCompiled, compilePolicy } from '../../nlpolicy/index.js';
import { buildBundle, DEFAULT_ENTRYPOINT } from '../../policy/index.js';
import { OperatorError } from '../errors.js';
import type { PolicySpec } from './resources.js';

/** A compiled policy: the bundle's bytes and its revision. */
export interface CompiledBundle {
  bundle: Buffer;
  /** sha256 of the entrypoint and source, 16 hex digits: also the bundle manifest's revision. */
  revision: string;
}

/** Compiles `spec`; throws OPERATOR_POLICY_INVALID with the compiler's message. */
export async function compileSigilPolicy(spec: PolicySpec): Promise<CompiledBundle> {
  const entrypoint = spec.entrypoint ?? DEFAULT_ENTRYPOINT;
  const source = spec.rego ?? spec.english;
  if (source === undefined || (spec.rego !== undefined && spec.english !== undefined))
    throw new OperatorError('OPERATOR_POLICY_INVALID', 'set exactly one of spec.rego and spec.english');
  const revision = createHash('sha256')
    .update(`${spec.rego !== undefined ? 'rego' : 'english'}\0${entrypoint}\0${source}`)
    .digest('hex')
    .slice(0, 16);
  const dir = mkdtempSync(join(tmpdir(), 'sigil-operator-policy-'));
  const output = join(dir, 'bundle.tar.gz');
  try {
    if (spec.english !== undefined) {
      if (entrypoint !== DEFAULT_ENTRYPOINT)
        throw new OperatorError(
          'OPERATOR_POLICY_INVALID',
          `an English policy has entrypoint ${DEFAULT_ENTRYPOINT}, not ${entrypoint}`,
        );
      const compiled = compilePolicy(spec.english, { source: 'spec.english' });
      await checkCompiled(compiled);
      await buildCompiledBundle(compiled, { output, revision });
    } else {
      const src = join(dir, 'src');
      mkdirSync(src);
      writeFileSync(join(src, 'policy.rego'), spec.rego as string);
      await buildBundle(src, { entrypoints: [entrypoint], output, revision, print: false });
    }
    return { bundle: readFileSync(output), revision };
  } catch (e) {
    if (e instanceof OperatorError) throw e;
    throw new OperatorError('OPERATOR_POLICY_INVALID', (e as Error).message, e);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
