/**
 * Process-wide V8 settings for `sigil serve` (docs/authz.md §8, "Garbage collection"). Only the CLI calls
 * this: a library must not change the GC of the process that embeds it.
 */
import { setFlagsFromString } from 'node:v8';
import type { SigilConfig } from '../config/index.js';

/**
 * Applies `sigil.runtime` and returns the V8 flags it set (empty when everything is left to V8).
 * `--heap-growing-percent` is read at every GC limit computation, so setting it at start-up takes
 * effect from the next major GC on.
 */
export function tuneRuntime(runtime: SigilConfig['runtime']): string[] {
  const p = runtime.gc_heap_growing_percent;
  const flags = p > 0 ? [`--heap-growing-percent=${p}`] : [];
  for (const f of flags) setFlagsFromString(f);
  return flags;
}
