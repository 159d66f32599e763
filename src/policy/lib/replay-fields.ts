/**
 * Which parts of the policy input a ledger decision record keeps (docs/policy.md §13), and which input paths a
 * policy reads (`opa deps`, OPA's own dependency analysis: it follows local aliases such as
 * `http := input.attributes.request.http; http.headers[k]`). A replay is exact only when every input path the
 * policy depends on lies inside a recorded one.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { runProcess } from '../../lib/run-process.js';
import { regoSources } from '../rego-sources.js';
import { DEFAULT_TAR_LIMITS, gunzipCapped, readTar } from './tar.js';

/**
 * Input paths rebuilt exactly from a decision record (src/ledger/record.ts): method, host and peer principal as
 * recorded, `parsed_path` from the recorded path (which is the path before `?`), the whole of `input.sigil`
 * from `sub`, `task_id`, `tool`, `depth` and `chain`, and the constant `version`. `time.now_ns()` is the
 * record's `ts`, as in the pipeline.
 */
export const RECORDED_INPUT_PATHS: readonly (readonly string[])[] = [
  ['sigil'],
  ['parsed_path'],
  ['version'],
  ['source_principal'],
  ['attributes', 'request', 'http', 'method'],
  ['attributes', 'request', 'http', 'host'],
  ['attributes', 'source', 'principal'],
];

/** What a policy reads of its input: the exact `input…` paths, and those the ledger cannot give back. */
export interface InputDependencies {
  /** Every input path the entrypoint depends on, dotted (`input.attributes.request.http.headers.x-foo`). */
  reads: string[];
  /** Those not inside a recorded path: a decision depending on them cannot be replayed exactly. */
  unrecorded: string[];
}

/** `opa deps` JSON ref term. */
interface RefTerm {
  type: string;
  value: unknown;
}

/** The constant prefix of an `opa deps` base ref (it stops at the first variable or non-string term). */
function constantPath(ref: RefTerm[]): string[] | undefined {
  if (ref[0]?.type !== 'var' || ref[0].value !== 'input') return undefined;
  const out: string[] = [];
  for (const t of ref.slice(1)) {
    if (t.type !== 'string' || typeof t.value !== 'string') break;
    out.push(t.value);
  }
  return out;
}

/** True when `path` lies inside (or is) one of {@link RECORDED_INPUT_PATHS}. */
export function isRecordedPath(path: readonly string[]): boolean {
  return RECORDED_INPUT_PATHS.some((w) => w.length <= path.length && w.every((s, i) => path[i] === s));
}

/** Classifies the `base` refs of `opa deps --format json`. */
export function classifyDeps(base: RefTerm[][]): InputDependencies {
  const reads = new Set<string>();
  const unrecorded = new Set<string>();
  for (const ref of base) {
    const path = constantPath(ref);
    if (path === undefined) continue;
    const dotted = ['input', ...path].join('.');
    reads.add(dotted);
    if (!isRecordedPath(path)) unrecorded.add(dotted);
  }
  return { reads: [...reads].sort(), unrecorded: [...unrecorded].sort() };
}

function wasmOf(bundle: Uint8Array): Buffer | undefined {
  for (const [path, body] of readTar(gunzipCapped(bundle, DEFAULT_TAR_LIMITS.maxTotalBytes)))
    if (path === '/policy.wasm' || path === 'policy.wasm') return body;
  return undefined;
}

/**
 * What the candidate reads of its input, by `opa deps` on its Rego `sources` (path → text; default: the `.rego`
 * files in the bundle). `opa build -t wasm` drops the entrypoint's rules from the Rego it keeps in the bundle
 * (an `import data.<entrypoint>` stands in their place), so the sources are first built again with the same OPA and must give the bundle's
 * exact policy.wasm: an analysis of other sources than the ones that run is never used. Returns `unknown` with
 * the reason when it cannot tell; the caller then treats every decision as not replayable.
 */
export async function inputDependencies(
  bundle: Uint8Array,
  entrypoint: string,
  opa: string | undefined,
  sources: Record<string, string> = regoSources(bundle),
): Promise<{ deps: InputDependencies } | { unknown: string }> {
  if (Object.keys(sources).length === 0) return { unknown: 'no Rego sources (pass --source)' };
  if (!opa) return { unknown: 'opa CLI not found (needed to tell which input fields the policy reads)' };
  const wasm = wasmOf(bundle);
  if (!wasm) return { unknown: 'the bundle has no policy.wasm' };
  const dir = mkdtempSync(join(tmpdir(), 'sigil-replay-deps-'));
  try {
    const src = join(dir, 'src');
    for (const [p, text] of Object.entries(sources)) {
      const rel = normalize(p.replace(/^\/+/, ''));
      if (rel.startsWith('..')) return { unknown: `source path ${JSON.stringify(p)} is not relative` };
      mkdirSync(dirname(join(src, rel)), { recursive: true });
      writeFileSync(join(src, rel), text);
    }
    // Async: inside `sigil serve` (admin API replay) the Check path keeps running meanwhile.
    const run = (args: string[]) => runProcess(opa, args, { cwd: src, timeoutMs: 60_000 });
    // Same build as `sigil policy build` (with and without print, which changes the Wasm when print() is used).
    let matches = false;
    for (const extra of [[], ['--wasm-include-print']]) {
      const out = join(dir, 'b.tar.gz');
      const r = await run(['build', '-t', 'wasm', '-e', entrypoint, ...extra, '-o', out, '.']);
      matches = r.status === 0 && wasmOf(readFileSync(out))?.equals(wasm) === true;
      if (matches) break;
    }
    if (!matches)
      return {
        unknown: `the Rego sources do not build to this bundle's policy.wasm (${
          Object.values(sources).some(importsEntrypoint)
            ? "the bundle's Rego lacks the compiled entrypoint rules: "
            : ''
        }pass the sources it was built from with --source)`,
      };
    const query = `data.${entrypoint.split('/').filter(Boolean).join('.')}`;
    const r = await run(['deps', '--format', 'json', '-d', '.', query]);
    if (r.status !== 0) return { unknown: `opa deps failed: ${(r.stderr || String(r.error)).trim()}` };
    const out = JSON.parse(r.stdout) as { base?: RefTerm[][] };
    return { deps: classifyDeps(out.base ?? []) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  function importsEntrypoint(text: string): boolean {
    return text.includes(`import data.${entrypoint.split('/').filter(Boolean).join('.')}`);
  }
}
