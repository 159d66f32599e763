/**
 * `sigil policy compile` and `sigil policy explain` (docs/policy-language.md §7): controlled English → Rego, its
 * tests and explanation; `--check` runs the real `opa check --strict` and `opa test`, `--build` then builds the
 * Wasm bundle exactly as `sigil policy build` does.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import {
  buildCompiledBundle,
  type CompiledPolicy,
  checkCompiled,
  compilePolicy,
  explainPolicy,
} from '../../nlpolicy/index.js';
import { PolicyError, regoSources } from '../../policy/index.js';
import { readStdin, runCommand } from '../context.js';
import { addLlmOptions, type LlmFlags, runLlmCompile } from './policy-llm.js';

// Moved to src/nlpolicy (the admin API's activate runs it too); kept here for existing importers.
export { checkCompiled } from '../../nlpolicy/index.js';

/** The explanation file: one line per rule, `s1 (line 2): <words>`. */
export function explanationText(c: CompiledPolicy): string {
  return c.explanation.map((e) => `${e.rule} (line ${e.line}): ${e.words}\n`).join('');
}

/** Registers `sigil policy compile` and `sigil policy explain` under `sigil policy`. */
export function registerCompile(policy: Command): void {
  addLlmOptions(policy.command('compile'))
    .description(
      'compile a controlled-English policy (docs/policy-language.md) into policy.rego, policy_test.rego and ' +
        'explanation.txt',
    )
    .argument('<file>', 'policy text ("-" = stdin)')
    .option('--out <dir>', 'directory to write the three files into', '.')
    .option('--check', 'run the real `opa check --strict` and `opa test` on the generated Rego')
    .option('--build', 'check, then build the Wasm bundle as `sigil policy build` does')
    .option('-o, --output <file>', 'bundle file for --build (default <out>/bundle.tar.gz)')
    .option('--revision <rev>', 'revision recorded in the bundle manifest (--build)')
    .action(
      (
        file: string,
        flags: { out: string; check?: boolean; build?: boolean; output?: string; revision?: string },
      ) =>
        runCommand(async () => {
          const text = file === '-' ? await readStdin() : readFileSync(file, 'utf8');
          if ((flags as LlmFlags).llm) return runLlmCompile(text, flags as LlmFlags);
          const compiled = compilePolicy(text, { source: file === '-' ? '<stdin>' : file });
          const out = resolve(flags.out);
          mkdirSync(out, { recursive: true });
          const files = ['policy.rego', 'policy_test.rego', 'explanation.txt'];
          writeFileSync(join(out, files[0]!), compiled.rego);
          writeFileSync(join(out, files[1]!), compiled.testRego);
          writeFileSync(join(out, files[2]!), explanationText(compiled));
          const report: Record<string, unknown> = {
            out,
            files,
            rules: compiled.explanation.length,
          };
          if (flags.check || flags.build) report.tests = await checkCompiled(compiled);
          if (flags.build)
            report.bundle = await buildCompiledBundle(compiled, {
              output: flags.output ?? join(out, 'bundle.tar.gz'),
              ...(flags.revision !== undefined ? { revision: flags.revision } : {}),
            });
          process.stdout.write(`${JSON.stringify(report)}\n`);
        }),
    );

  policy
    .command('explain')
    .description('English for a policy: a bundle (.tar.gz) or a .rego file')
    .argument('<file>', 'bundle.tar.gz or policy.rego ("-" = Rego on stdin)')
    .action((file: string) =>
      runCommand(async () => {
        let bytes: Buffer;
        try {
          bytes = file === '-' ? Buffer.from(await readStdin(), 'utf8') : readFileSync(file);
        } catch (e) {
          throw new PolicyError('POLICY_BUNDLE_UNAVAILABLE', `${file}: ${(e as Error).message}`);
        }
        // gzip magic (RFC 1952 §2.3.1): a bundle; anything else is Rego text.
        if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
          const sources = Object.entries(regoSources(bytes)).filter(([p]) => !p.endsWith('_test.rego'));
          if (sources.length === 0)
            throw new PolicyError(
              'POLICY_BUNDLE_INVALID',
              `${file}: the bundle carries no .rego source to explain`,
            );
          const parts = sources.map(([p, text]) => `${p}:\n${explainPolicy(text)}`);
          process.stdout.write(parts.join('\n'));
        } else process.stdout.write(explainPolicy(bytes.toString('utf8')));
      }),
    );
}
