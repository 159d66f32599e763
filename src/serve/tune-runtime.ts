/**
 * Process-wide V8 settings for `sigil serve` (docs/authz.md §8, "Garbage collection"; docs/sizing.md). Only the
 * CLI calls this: a library must not change the GC of the process that embeds it.
 */
import { setFlagsFromString } from 'node:v8';
import type { SigilConfig } from '../config/index.js';
import { releaseClosedHttp2Streams } from './release-http2-streams.js';

/**
 * Applies `sigil.runtime` and returns the V8 flags it set (empty when everything is left to V8).
 * `--heap-growing-percent` is read at every GC limit computation, so setting it at start-up takes
 * effect from the next major GC on; `--no-allocation-site-pretenuring` at every scavenge.
 */
export function tuneRuntime(runtime: SigilConfig['runtime']): string[] {
  const p = runtime.gc_heap_growing_percent;
  const flags = p > 0 ? [`--heap-growing-percent=${p}`] : [];
  // Read at every scavenge's pretenuring decision: set before any load, no site has been tenured yet.
  if (!runtime.gc_pretenuring) flags.push('--no-allocation-site-pretenuring');
  for (const f of flags) setFlagsFromString(f);
  // Read by every Buffer.allocUnsafe / Buffer.from: 0 = no shared slabs (sigil.runtime.buffer_pool).
  if (!runtime.buffer_pool) Buffer.poolSize = 0;
  // Not a V8 flag, but for the same collector: closed streams no longer drag their calls into the old generation.
  releaseClosedHttp2Streams();
  return flags;
}

/**
 * The heap-size flags `sigil.runtime` asks for. V8 sizes its heap once, when the isolate is created
 * (`setFlagsFromString` later has no effect on them), so these must be on the command line of the process:
 * `sigil serve` re-executes itself with them ({@link heapFlagsToAdd}).
 */
export function heapFlags(runtime: SigilConfig['runtime']): string[] {
  const flags: string[] = [];
  // A semi-space is half of the young generation (V8 keeps two and copies survivors between them).
  if (runtime.semi_space_mb > 0) flags.push(`--max-semi-space-size=${runtime.semi_space_mb}`);
  if (runtime.max_old_space_mb > 0) flags.push(`--max-old-space-size=${runtime.max_old_space_mb}`);
  return flags;
}

/**
 * Of `wanted` (from {@link heapFlags}), those this process was not started with. A flag the operator set
 * already, with any value, on the command line or in `NODE_OPTIONS`, counts as present: theirs wins. So does
 * their `--max-heap-size`, which V8 refuses to combine with both of the others: then nothing is added.
 */
export function heapFlagsToAdd(
  wanted: readonly string[],
  execArgv: readonly string[],
  nodeOptions: string | undefined,
): string[] {
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)].map((a) =>
    a.split('=')[0]!.replaceAll('_', '-'),
  );
  if (given.includes('--max-heap-size')) return [];
  return wanted.filter((f) => !given.includes(f.split('=')[0]!));
}
