/**
 * bench/lib/durable-commit.ts: the percentile helper on known samples, and the raw lmdb-js durable-commit
 * probe on a real LMDB file (tiny: 40 writes), which bench:disk and bench:e2e both report.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openLoop, probeDurableCommits, summarizeLatency } from '../../bench/lib/durable-commit.js';

describe('summarizeLatency', () => {
  it('nearest-rank percentiles of unsorted samples, and the count above 5 ms', () => {
    const xs = Array.from({ length: 1000 }, (_, i) => (i * 7919) % 1000).map((i) => i / 100); // 0 … 9.99
    const s = summarizeLatency(xs);
    expect(s).toEqual({ n: 1000, p50: 5, p99: 9.9, p999: 9.99, max: 9.99, over5: 499 });
  });

  it('refuses no samples rather than reporting NaN as a figure', () => {
    expect(() => summarizeLatency([])).toThrow(/no samples/);
  });
});

describe('openLoop', () => {
  it('starts every call at the rate without waiting for slow ones', async () => {
    let inFlight = 0;
    let most = 0;
    const t0 = performance.now();
    const lat = await openLoop(200, 0.1, async () => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 30));
      inFlight--;
    });
    expect(lat).toHaveLength(20);
    // Closed loop would take 20 × 30 ms; open loop overlaps them.
    expect(performance.now() - t0).toBeLessThan(400);
    expect(most).toBeGreaterThan(1);
    for (const x of lat) expect(x).toBeGreaterThanOrEqual(29);
  });
});

describe('probeDurableCommits (real LMDB file)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-durable-probe-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('times one flushed commit per write and removes its environment', async () => {
    const s = await probeDurableCommits(dir, 200, 0.2);
    expect(s.n).toBe(40);
    expect(s.p50).toBeGreaterThan(0);
    expect(s.p99).toBeGreaterThanOrEqual(s.p50);
    expect(s.max).toBeGreaterThanOrEqual(s.p999);
    expect(existsSync(dir)).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
  });
});
