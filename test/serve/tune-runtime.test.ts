/** Which heap flags `sigil serve` re-executes itself with, and what `tuneRuntime` sets in-process (docs/sizing.md). */
import { getHeapStatistics } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import {
  collectStartupGarbage,
  singleThreadedGc,
  startupFlags,
  startupFlagsToAdd,
  tuneRuntime,
} from '../../src/serve/index.js';

const runtime = (r: Record<string, unknown>) => loadConfig({ overrides: { runtime: r }, env: {} }).runtime;

const oneCpu = () => 1;
const twoCpus = () => 2;

describe('startupFlags', () => {
  it('asks for a 16 MiB semi-space by default and leaves the old generation to V8', () => {
    expect(startupFlags(runtime({}), twoCpus)).toEqual(['--max-semi-space-size=16']);
  });
  it('maps both heap keys, and 0 to nothing', () => {
    expect(startupFlags(runtime({ semi_space_mb: 8, max_old_space_mb: 192 }), twoCpus)).toEqual([
      '--max-semi-space-size=8',
      '--max-old-space-size=192',
    ]);
    expect(startupFlags(runtime({ semi_space_mb: 0 }), twoCpus)).toEqual([]);
  });
  it('runs the collector on the main thread alone when the process has one CPU (gc_threads: auto)', () => {
    expect(startupFlags(runtime({ semi_space_mb: 0 }), oneCpu)).toEqual(['--single-threaded-gc']);
    expect(singleThreadedGc(runtime({}), oneCpu)).toBe(true);
    expect(singleThreadedGc(runtime({}), twoCpus)).toBe(false);
  });
  it('follows an explicit gc_threads whatever the CPU budget, without asking for it', () => {
    const asked = (): number => {
      throw new Error('the CPU budget is only read for auto');
    };
    expect(singleThreadedGc(runtime({ gc_threads: 'single' }), asked)).toBe(true);
    expect(singleThreadedGc(runtime({ gc_threads: 'parallel' }), asked)).toBe(false);
    expect(startupFlags(runtime({ semi_space_mb: 0, gc_threads: 'single' }), asked)).toEqual([
      '--single-threaded-gc',
    ]);
  });
  it('refuses another gc_threads value naming the key', () => {
    expect(() => runtime({ gc_threads: 'two' })).toThrow(/sigil\.runtime\.gc_threads/);
  });
});

describe('startupFlagsToAdd', () => {
  const wanted = ['--max-semi-space-size=16', '--max-old-space-size=192'];
  it('returns the flags the process was not started with', () => {
    expect(startupFlagsToAdd(wanted, ['--import', 'tsx'], undefined)).toEqual(wanted);
    expect(startupFlagsToAdd(wanted, ['--max-semi-space-size=16'], '')).toEqual(['--max-old-space-size=192']);
  });
  it('keeps a value the operator gave, in any spelling V8 accepts, on the command line or in NODE_OPTIONS', () => {
    expect(startupFlagsToAdd(wanted, ['--max-semi-space-size=64'], undefined)).toEqual([
      '--max-old-space-size=192',
    ]);
    expect(startupFlagsToAdd(wanted, [], '--enable-source-maps  --max_old_space_size=512')).toEqual([
      '--max-semi-space-size=16',
    ]);
    expect(startupFlagsToAdd(wanted, ['--max-semi-space-size=1'], '--max-old-space-size=512')).toEqual([]);
  });
  it('adds no heap size next to an operator’s --max-heap-size (V8 will not take all three)', () => {
    expect(startupFlagsToAdd(wanted, [], '--max-heap-size=512')).toEqual([]);
    expect(startupFlagsToAdd(wanted, ['--max_heap_size=512'], undefined)).toEqual([]);
    expect(startupFlagsToAdd([...wanted, '--single-threaded-gc'], [], '--max-heap-size=512')).toEqual([
      '--single-threaded-gc',
    ]);
  });
  it('leaves the collector’s threads to an operator who set them either way', () => {
    const gc = ['--max-semi-space-size=16', '--single-threaded-gc'];
    expect(startupFlagsToAdd(gc, ['--no-single-threaded-gc'], undefined)).toEqual([
      '--max-semi-space-size=16',
    ]);
    expect(startupFlagsToAdd(gc, ['--single_threaded_gc'], undefined)).toEqual(['--max-semi-space-size=16']);
    expect(startupFlagsToAdd(gc, [], undefined)).toEqual(gc);
  });
});

describe('tuneRuntime', () => {
  it('turns off Node’s shared Buffer pool unless sigil.runtime.buffer_pool, and returns only V8 flags', () => {
    const before = Buffer.poolSize;
    try {
      expect(
        tuneRuntime(runtime({ gc_heap_growing_percent: 0, gc_pretenuring: true, buffer_pool: true })),
      ).toEqual([]);
      expect(Buffer.poolSize).toBe(before);
      tuneRuntime(runtime({ gc_heap_growing_percent: 0, gc_pretenuring: true }));
      expect(Buffer.poolSize).toBe(0);
      // Small buffers now have memory of their own: no slab shared with (and kept alive by) others.
      const a = Buffer.allocUnsafe(16);
      const b = Buffer.allocUnsafe(16);
      expect(a.buffer).not.toBe(b.buffer);
      expect(a.buffer.byteLength).toBe(16);
    } finally {
      Buffer.poolSize = before;
    }
  });
});

describe('collectStartupGarbage', () => {
  it('runs one full collection, and leaves no gc on the global object', () => {
    const hadGc = 'gc' in globalThis;
    // ~20 MB of objects, dropped before the collection: only a full collection frees all of them at once.
    let junk: { i: number; s: string }[] | undefined = Array.from({ length: 200_000 }, (_, i) => ({
      i,
      s: `x${i}`,
    }));
    const withJunk = getHeapStatistics().used_heap_size;
    expect(junk.length).toBe(200_000);
    junk = undefined;
    const ms = collectStartupGarbage();
    expect(ms).toBeGreaterThan(0);
    expect(getHeapStatistics().used_heap_size).toBeLessThan(withJunk - 8 * 2 ** 20);
    expect('gc' in globalThis).toBe(hadGc);
  });
});
