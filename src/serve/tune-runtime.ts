/**
 * Process-wide V8 settings for `sigil serve` (docs/authz.md §8, "Garbage collection"; docs/sizing.md). Only the
 * CLI calls this: a library must not change the GC of the process that embeds it.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { SigilConfig } from '../config/index.js';
import { cpuBudget } from '../lib/cpu-budget.js';
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
 * One full collection of the garbage start-up left, run by `sigil serve` once it is ready; returns its
 * duration in ms. Until its first full collection V8 sizes the old generation from its initial limit, not from
 * the live set, so without this the first full collection under load came only once the old generation had grown
 * to ~120 MB, and cleared everything since start-up at once: ~45–50 ms after a burst, where the later ones
 * mostly paused 20–30 ms (docs/sizing.md §4). After it, `--heap-growing-percent` applies to the real live set from the first
 * Check on. `gc` is exposed only inside a throwaway context (the same way Jest's `--logHeapUsage` reaches it),
 * never on this process's global object.
 */
export function collectStartupGarbage(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const t0 = performance.now();
  gc();
  return performance.now() - t0;
}

/**
 * Whether `sigil.runtime.gc_threads` means one collector thread: `single`, or `auto` with a CPU budget of one
 * (affinity mask capped by the cgroup quota, {@link cpuBudget}).
 */
export function singleThreadedGc(runtime: SigilConfig['runtime'], cpus: () => number = cpuBudget): boolean {
  return runtime.gc_threads === 'single' || (runtime.gc_threads === 'auto' && cpus() <= 1);
}

/**
 * The V8 flags `sigil.runtime` asks for that only take effect at process start: the heap sizes (V8 sizes its
 * heap once, when the isolate is created) and the collector's threads (created with the heap).
 * `setFlagsFromString` later has no effect on them, so they must be on the command line of the process:
 * `sigil serve` re-executes itself with them ({@link startupFlagsToAdd}).
 */
export function startupFlags(runtime: SigilConfig['runtime'], cpus: () => number = cpuBudget): string[] {
  const flags: string[] = [];
  // A semi-space is half of the young generation (V8 keeps two and copies survivors between them).
  if (runtime.semi_space_mb > 0) flags.push(`--max-semi-space-size=${runtime.semi_space_mb}`);
  if (runtime.max_old_space_mb > 0) flags.push(`--max-old-space-size=${runtime.max_old_space_mb}`);
  if (singleThreadedGc(runtime, cpus)) flags.push('--single-threaded-gc');
  return flags;
}

/** The heap sizes {@link startupFlags} may ask for, which V8 will not take together with `--max-heap-size`. */
const HEAP_SIZE_FLAGS = new Set(['--max-semi-space-size', '--max-old-space-size']);

/**
 * Of `wanted` (from {@link startupFlags}), those this process was not started with. A flag the operator set
 * already, with any value or negated (`--no-…`), on the command line or in `NODE_OPTIONS`, counts as present:
 * theirs wins. So does their `--max-heap-size`, which V8 refuses to combine with both heap sizes: then neither
 * heap size is added.
 */
export function startupFlagsToAdd(
  wanted: readonly string[],
  execArgv: readonly string[],
  nodeOptions: string | undefined,
): string[] {
  const name = (a: string) =>
    a
      .split('=')[0]!
      .replaceAll('_', '-')
      .replace(/^--no-/, '--');
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)].map(name);
  const heapSizeGiven = given.includes('--max-heap-size');
  return wanted.filter((f) => !given.includes(name(f)) && !(heapSizeGiven && HEAP_SIZE_FLAGS.has(name(f))));
}
