/**
 * Builds an OPA Wasm bundle from a directory of Rego the way SIGIL loads it (docs/policy.md §10): `opa build -t
 * wasm`, then SIGIL's own loader on the result. Behind `sigil policy build`, `sigil policy compile --build` and the
 * admin API's `POST /api/policy/activate`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { delimiter, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../lib/atomic-write.js';
import { runProcess } from '../lib/run-process.js';
import { PolicyError } from './errors.js';
import { addSources } from './lib/bundle-sources.js';
import { loadBundle } from './load-bundle.js';

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
  // Not spawnSync: inside `sigil serve` (admin API activation) the Check path keeps running meanwhile.
  const r = await runProcess(opa, [...args, ...opaArgs, '.'], { cwd: dir });
  if (r.status !== 0)
    throw new PolicyError(
      'POLICY_BUILD_FAILED',
      `opa build failed:\n${(r.stderr || r.stdout || String(r.error)).trim()}`,
    );
  // Ship the Rego it was built from: opa keeps only stubs of the modules in a Wasm bundle (docs/policy.md §10).
  const bytes = addSources(readFileSync(output), regoFiles(dir));
  writeFileAtomic(output, bytes, 0o644);
  // Load what was built so a bundle SIGIL would refuse (e.g. a missing builtin) fails here, not at deploy.
  const bundle = await loadBundle(bytes, { entrypoint: o.entrypoints[0]! });
  return {
    bundle: output,
    revision: bundle.revision,
    entrypoints: o.entrypoints,
    builtins: bundle.requiredBuiltins,
  };
}

/** Every `.rego` file under `dir` (what `opa build .` compiles), relative path → text; dot-directories skipped. */
function regoFiles(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith('.rego'))
        out[relative(dir, p).split('\\').join('/')] = readFileSync(p, 'utf8');
    }
  };
  walk(dir);
  return out;
}
