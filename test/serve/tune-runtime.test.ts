/** Which heap flags `sigil serve` re-executes itself with, and what `tuneRuntime` sets in-process (docs/sizing.md). */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { heapFlags, heapFlagsToAdd, tuneRuntime } from '../../src/serve/index.js';

const runtime = (r: Record<string, unknown>) => loadConfig({ overrides: { runtime: r }, env: {} }).runtime;

describe('heapFlags', () => {
  it('asks for a 16 MiB semi-space by default and leaves the old generation to V8', () => {
    expect(heapFlags(runtime({}))).toEqual(['--max-semi-space-size=16']);
  });
  it('maps both keys, and 0 to nothing', () => {
    expect(heapFlags(runtime({ semi_space_mb: 8, max_old_space_mb: 192 }))).toEqual([
      '--max-semi-space-size=8',
      '--max-old-space-size=192',
    ]);
    expect(heapFlags(runtime({ semi_space_mb: 0 }))).toEqual([]);
  });
});

describe('heapFlagsToAdd', () => {
  const wanted = ['--max-semi-space-size=16', '--max-old-space-size=192'];
  it('returns the flags the process was not started with', () => {
    expect(heapFlagsToAdd(wanted, ['--import', 'tsx'], undefined)).toEqual(wanted);
    expect(heapFlagsToAdd(wanted, ['--max-semi-space-size=16'], '')).toEqual(['--max-old-space-size=192']);
  });
  it('keeps a value the operator gave, in any spelling V8 accepts, on the command line or in NODE_OPTIONS', () => {
    expect(heapFlagsToAdd(wanted, ['--max-semi-space-size=64'], undefined)).toEqual([
      '--max-old-space-size=192',
    ]);
    expect(heapFlagsToAdd(wanted, [], '--enable-source-maps  --max_old_space_size=512')).toEqual([
      '--max-semi-space-size=16',
    ]);
    expect(heapFlagsToAdd(wanted, ['--max-semi-space-size=1'], '--max-old-space-size=512')).toEqual([]);
  });
  it('adds nothing next to an operator’s --max-heap-size (V8 will not take all three)', () => {
    expect(heapFlagsToAdd(wanted, [], '--max-heap-size=512')).toEqual([]);
    expect(heapFlagsToAdd(wanted, ['--max_heap_size=512'], undefined)).toEqual([]);
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
