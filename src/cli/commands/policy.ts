/**
 * `sigil policy`: build OPA Wasm bundles and evaluate them exactly as the Check pipeline does (docs/policy.md §10).
 * `build` wraps `opa build -t wasm` (opa from $SIGIL_OPA, $PATH, or the repository's .tools/bin); `eval` runs the
 * same input construction, Wasm evaluation and decision mapping as the policy step and prints the verdict JSON.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import {
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

/** Finds the OPA CLI: $SIGIL_OPA, then $PATH, then <repo>/.tools/bin/opa (where scripts/setup-tools.sh puts it). */
export function findOpa(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.SIGIL_OPA && existsSync(env.SIGIL_OPA)) return env.SIGIL_OPA;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'opa'))) return join(dir, 'opa');
  }
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, '.tools/bin/opa');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return undefined;
}

function readJson(path: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new PolicyError('POLICY_INPUT_INVALID', `${path}: not JSON (${(e as Error).message})`);
  }
}

/** Options of {@link buildBundle} (the flags of `sigil policy build`). */
export interface BuildBundleOptions {
  entrypoints: string[];
  output: string;
  revision?: string;
  v0Compatible?: boolean;
  /** Compile print() in (--wasm-include-print). */
  print: boolean;
  /** Extra `opa build` arguments (not -t/-o). */
  opaArgs?: string[];
}

/**
 * `sigil policy build`: `opa build -t wasm` run inside `dir` on `.`, then the bundle loaded with SIGIL's loader so
 * a bundle SIGIL would refuse fails here, not at deploy. Used by `sigil policy compile --build` too.
 */
export async function buildBundle(
  dir: string,
  o: BuildBundleOptions,
): Promise<{ bundle: string; revision: string; entrypoints: string[]; builtins: readonly string[] }> {
  const opa = findOpa();
  if (!opa)
    throw new PolicyError(
      'POLICY_BUILD_FAILED',
      'opa CLI not found: put it on PATH, set SIGIL_OPA, or run scripts/setup-tools.sh',
    );
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new PolicyError('POLICY_BUILD_FAILED', `${dir} is not a directory`);
  const opaArgs = o.opaArgs ?? [];
  const owned = opaArgs.find((a) => /^(-t|--target|-o|--output)(=|$)/.test(a));
  if (owned !== undefined)
    throw new PolicyError('POLICY_BUILD_FAILED', `${owned} is set by sigil policy build itself`);
  const output = resolve(o.output);
  const args = ['build', '-t', 'wasm', ...o.entrypoints.flatMap((e) => ['-e', e]), '-o', output];
  if (o.revision !== undefined) args.push('--revision', o.revision);
  if (o.v0Compatible) args.push('--v0-compatible');
  if (o.print) args.push('--wasm-include-print');
  // Built from inside `dir` as ".": the file names opa puts in its errors and compiles into the Wasm (for
  // runtime errors) are then relative, never this machine's absolute paths.
  const r = spawnSync(opa, [...args, ...opaArgs, '.'], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0)
    throw new PolicyError(
      'POLICY_BUILD_FAILED',
      `opa build failed:\n${(r.stderr || r.stdout || String(r.error)).trim()}`,
    );
  // Load what was built so a bundle SIGIL would refuse (e.g. a missing builtin) fails here, not at deploy.
  const bundle = await loadBundle(readFileSync(output), { entrypoint: o.entrypoints[0]! });
  return {
    bundle: output,
    revision: bundle.revision,
    entrypoints: o.entrypoints,
    builtins: bundle.requiredBuiltins,
  };
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
