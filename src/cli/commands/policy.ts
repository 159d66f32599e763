/**
 * `sigil policy`: build OPA Wasm bundles and evaluate them exactly as the Check pipeline does (docs/policy.md §10).
 * `build` wraps `opa build -t wasm` (opa from $SIGIL_OPA, $PATH, or the repository's .tools/bin); `eval` runs the
 * same input construction, Wasm evaluation and decision mapping as the policy step and prints the verdict JSON.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  buildBundle,
  DEFAULT_ENTRYPOINT,
  evaluateInput,
  evaluatePolicy,
  loadBundle,
  type PolicyContext,
  PolicyError,
} from '../../policy/index.js';
import { cliConfig, readStdin, runCommand } from '../context.js';
import { registerCompile } from './policy-compile.js';
import { registerReplay } from './policy-replay.js';

// Moved to src/policy (the admin API's activate uses them too); kept here for existing importers.
export { type BuildBundleOptions, buildBundle, findOpa } from '../../policy/index.js';

function readJson(path: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new PolicyError('POLICY_INPUT_INVALID', `${path}: not JSON (${(e as Error).message})`);
  }
}

/** Registers `sigil policy …`. */
export function register(program: Command): void {
  const policy = program
    .command('policy')
    .description(
      'Rego policies as OPA Wasm bundles: build and evaluate; compile and explain controlled English; replay',
    );
  registerCompile(policy);
  registerReplay(policy);

  policy
    .command('build')
    .description(
      'compile a directory of .rego (+ data.json) into an OPA Wasm bundle (wraps `opa build -t wasm`); ' +
        'arguments after `--` go to `opa build` as they are',
    )
    .argument('<dir>', 'policy source directory')
    .argument('[opa-args...]', 'extra `opa build` arguments, after `--` (e.g. -- --capabilities caps.json)')
    .option('-e, --entrypoint <path...>', `decision path(s) to compile (default ${DEFAULT_ENTRYPOINT})`)
    .option('-o, --output <file>', 'bundle file to write', 'bundle.tar.gz')
    .option('--revision <rev>', 'revision recorded in the manifest (and in every ledger record it decides)')
    .option(
      '--v0-compatible',
      'Rego v0 syntax (opa build --v0-compatible), for policies written before OPA 1.0',
    )
    .option(
      '--no-print',
      'leave print() statements out of the Wasm (they are compiled in and logged by default)',
    )
    .action(
      (
        dir: string,
        opaArgs: string[],
        flags: {
          entrypoint?: string[];
          output: string;
          revision?: string;
          v0Compatible?: boolean;
          print: boolean;
        },
      ) =>
        runCommand(async () => {
          const result = await buildBundle(dir, {
            entrypoints: flags.entrypoint ?? [DEFAULT_ENTRYPOINT],
            output: flags.output,
            ...(flags.revision !== undefined ? { revision: flags.revision } : {}),
            v0Compatible: flags.v0Compatible === true,
            print: flags.print,
            opaArgs,
          });
          process.stdout.write(`${JSON.stringify(result)}\n`);
        }),
    );

  policy
    .command('eval')
    .description('evaluate a bundle on a request exactly as the Check pipeline does; prints the verdict JSON')
    .option('--bundle <file>', 'bundle file (default: sigil.policy.bundle)')
    .requiredOption(
      '--input <file>',
      'JSON file ("-" = stdin): {"checkRequest": …, "sigil": …}, or an input document with --raw',
    )
    .option('-e, --entrypoint <path>', 'decision path (default: sigil.policy.entrypoint)')
    .option('--raw', 'the input file is the policy input document itself (skip CheckRequest conversion)')
    .option('--now <ms>', 'evaluation time for time.now_ns(), epoch ms (default: now)')
    .action(
      (
        flags: { bundle?: string; input: string; entrypoint?: string; raw?: boolean; now?: string },
        cmd: Command,
      ) =>
        runCommand(async () => {
          const config = cliConfig(cmd);
          const file = flags.bundle ?? config.policy.bundle;
          if (!file)
            throw new PolicyError('POLICY_NOT_LOADED', 'no bundle: pass --bundle or set sigil.policy.bundle');
          if (/^https?:\/\//i.test(file))
            throw new PolicyError(
              'POLICY_BUNDLE_UNAVAILABLE',
              '--bundle must be a file (download HTTP bundles first)',
            );
          let bytes: Buffer;
          try {
            bytes = readFileSync(file);
          } catch (e) {
            throw new PolicyError(
              'POLICY_BUNDLE_UNAVAILABLE',
              `bundle file ${file}: ${(e as Error).message}`,
            );
          }
          const bundle = await loadBundle(bytes, {
            entrypoint: flags.entrypoint ?? config.policy.entrypoint,
          });
          const text = flags.input === '-' ? await readStdin() : readFileSync(flags.input, 'utf8');
          const doc = readJson(flags.input, text);
          if (flags.now !== undefined && !/^\d{1,16}$/.test(flags.now))
            throw new PolicyError('POLICY_INPUT_INVALID', '--now must be epoch ms');
          const nowMs = flags.now !== undefined ? Number(flags.now) : Date.now();
          const options = { timeoutMs: config.policy.eval_timeout_ms, clock: { nowMs: () => nowMs } };
          let verdict: ReturnType<typeof evaluateInput>;
          if (flags.raw) {
            verdict = evaluateInput(bundle, doc, options);
          } else {
            const ctx = doc as Partial<PolicyContext>;
            if (
              typeof ctx !== 'object' ||
              ctx === null ||
              typeof ctx.checkRequest !== 'object' ||
              typeof ctx.sigil !== 'object'
            ) {
              throw new PolicyError(
                'POLICY_INPUT_INVALID',
                `${flags.input}: expected {"checkRequest": {...}, "sigil": {...}} (or use --raw)`,
              );
            }
            verdict = evaluatePolicy(bundle, ctx as PolicyContext, options);
          }
          process.stdout.write(`${JSON.stringify(verdict, null, 2)}\n`);
        }),
    );
}
