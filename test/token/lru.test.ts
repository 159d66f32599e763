/**
 * The token module's hot-path caches (screened headers, holder keys, SPIFFE IDs) are lru-cache
 * LRUCaches built as below; these are the bounds they rely on.
 */
import { LRUCache } from 'lru-cache';
import { describe, expect, it } from 'vitest';

describe('LRUCache as the token caches use it', () => {
  it('keeps recently used entries and bounds memory to 2 × max', () => {
    const c = new LRUCache<number, number>({ max: 100 });
    for (let i = 0; i < 3_000; i++) {
      c.set(i, i * 2);
      expect(c.get(0)).toBe(0); // touched every time: never evicted
      expect(c.size).toBeLessThanOrEqual(200);
    }
    expect(c.get(2_999)).toBe(5_998);
    expect(c.get(5)).toBeUndefined(); // untouched and long gone
  });
  it('returns undefined for misses and overwrites on set', () => {
    const c = new LRUCache<string, string>({ max: 2 });
    expect(c.get('a')).toBeUndefined();
    c.set('a', '1');
    c.set('a', '2');
    expect(c.get('a')).toBe('2');
  });
});
