/**
 * `sigil policy compile --llm` (docs/policy-llm.md): free-form English → Rego through the Anthropic
 * Messages API, checked by compileWithLlm, shown to the operator as a unified diff against the current policy
 * (on stderr), and written / built only once confirmed: `--yes`, or "y" at the prompt on a terminal. Without a
 * terminal and without `--yes` it stops after the diff (NLPOLICY_LLM_NOT_CONFIRMED) and writes nothing.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { compileWithLlm, type LlmCompiled } from '../../nlpolicy/compile-llm.js';
import { NlPolicyLlmError } from '../../nlpolicy/llm-errors.js';
import { DEFAULT_ENTRYPOINT } from '../../policy/index.js';
import { buildBundle, findOpa } from './policy.js';

/** Default model (override with --model or $SIGIL_LLM_MODEL). */
export const DEFAULT_LLM_MODEL = 'claude-sonnet-4-5';
/** Default API base (override with --base-url or $ANTHROPIC_BASE_URL). */
export const DEFAULT_LLM_BASE_URL = 'https://api.anthropic.com';

/** Flags `--llm` adds to `sigil policy compile`. */
export interface LlmFlags {
  llm?: boolean;
  model?: string;
  baseUrl?: string;
  llmTimeout?: string;
  current?: string;
  yes?: boolean;
  out: string;
  build?: boolean;
  output?: string;
  revision?: string;
}

/** Adds the `--llm` options to the compile command. */
export function addLlmOptions(cmd: Command): Command {
  return cmd
    .option(
      '--llm',
      'free-form English through the Anthropic Messages API (key from $ANTHROPIC_API_KEY), checked',
    )
    .option('--model <name>', `--llm model (default $SIGIL_LLM_MODEL or ${DEFAULT_LLM_MODEL})`)
    .option('--base-url <url>', `--llm API base URL (default $ANTHROPIC_BASE_URL or ${DEFAULT_LLM_BASE_URL})`)
    .option('--llm-timeout <ms>', '--llm request timeout in ms (default 120000)')
    .option(
      '--current <file>',
      '--llm: the policy in force, for the diff (default <out>/policy.rego when present)',
    )
    .option('--yes', '--llm: write and build without asking, after showing the diff');
}

async function confirmed(flags: LlmFlags): Promise<boolean> {
  if (flags.yes) return true;
  if (!process.stdin.isTTY || !process.stderr.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question('Write (and build) this policy? [y/N] ')).trim());
  } finally {
    rl.close();
  }
}

function explanation(r: LlmCompiled, model: string): string {
  const lines = [`Written by ${model} through sigil policy compile --llm; checked (docs/policy-llm.md).`];
  for (const s of r.parsed) lines.push(`checked against the deterministic compiler: ${s}`);
  for (const s of r.unparsed) lines.push(`outside the controlled grammar (review the Rego): ${s}`);
  return `${lines.join('\n')}\n`;
}

/** The `--llm` path of `sigil policy compile`: ask, check, show the diff, confirm, write, optionally build. */
export async function runLlmCompile(text: string, flags: LlmFlags, env = process.env): Promise<void> {
  const apiKey = env.ANTHROPIC_API_KEY;
  if (!apiKey) throw new NlPolicyLlmError('NLPOLICY_LLM_CONFIG', '--llm needs $ANTHROPIC_API_KEY');
  const timeout = flags.llmTimeout ?? '120000';
  if (!/^[1-9][0-9]{0,6}$/.test(timeout))
    throw new NlPolicyLlmError('NLPOLICY_LLM_CONFIG', '--llm-timeout must be 1–9999999 ms');
  const opa = findOpa(env);
  if (!opa)
    throw new NlPolicyLlmError('NLPOLICY_LLM_CONFIG', 'opa CLI not found (needed to check the answer)');
  const model = flags.model ?? env.SIGIL_LLM_MODEL ?? DEFAULT_LLM_MODEL;
  const out = resolve(flags.out);
  const currentFile = flags.current ?? join(out, 'policy.rego');
  const current = existsSync(currentFile) ? readFileSync(currentFile, 'utf8') : '';
  const r = await compileWithLlm(text, {
    api: {
      baseUrl: flags.baseUrl ?? env.ANTHROPIC_BASE_URL ?? DEFAULT_LLM_BASE_URL,
      apiKey,
      model,
      timeoutMs: Number(timeout),
    },
    opa,
    current,
  });
  process.stderr.write(r.diff || '(no change from the current policy)\n');
  if (!(await confirmed(flags)))
    throw new NlPolicyLlmError(
      'NLPOLICY_LLM_NOT_CONFIRMED',
      'the diff above was not confirmed: nothing written (pass --yes to write and build)',
    );
  mkdirSync(out, { recursive: true });
  const files = ['policy.rego', 'policy_test.rego', 'explanation.txt'];
  writeFileSync(join(out, files[0]!), r.rego);
  writeFileSync(join(out, files[1]!), r.testRego);
  writeFileSync(join(out, files[2]!), explanation(r, model));
  const report: Record<string, unknown> = {
    out,
    files,
    llm: { model, parsed: r.parsed.length, unparsed: r.unparsed.length, checked: r.checked },
  };
  if (flags.build) {
    const dir = mkdtempSync(join(tmpdir(), 'sigil-nlpolicy-llm-build-'));
    try {
      writeFileSync(join(dir, 'policy.rego'), r.rego);
      report.bundle = await buildBundle(dir, {
        entrypoints: [DEFAULT_ENTRYPOINT],
        output: flags.output ?? join(out, 'bundle.tar.gz'),
        ...(flags.revision !== undefined ? { revision: flags.revision } : {}),
        print: false,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  process.stdout.write(`${JSON.stringify(report)}\n`);
}
