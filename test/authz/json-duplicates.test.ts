/** hasDuplicateKeys: no false alarms on JSON.stringify output, finds a duplicate wherever it is injected. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hasDuplicateKeys } from '../../src/authz/lib/json-duplicates.js';

describe('hasDuplicateKeys', () => {
  it('is false for any JSON.stringify output (keys are unique there)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => !hasDuplicateKeys(JSON.stringify(v))),
      { numRuns: 500 },
    );
  });

  it('finds a member name repeated at any depth, escaped or not, and ignores repeats across objects', () => {
    expect(hasDuplicateKeys('{"a":1,"a":2}')).toBe(true);
    expect(hasDuplicateKeys('{"a":1,"\\u0061":2}')).toBe(true);
    expect(hasDuplicateKeys('[{"x":[{"k":"{\\"k\\":1}","k":0}]}]')).toBe(true);
    expect(hasDuplicateKeys('{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]}')).toBe(false);
    expect(hasDuplicateKeys('{"s":"\\"a\\":1,\\"a\\":2"}')).toBe(false);
  });

  it('finds a duplicate injected into random objects', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { minKeys: 1, maxKeys: 6 }),
        (obj) => {
          const text = JSON.stringify(obj);
          const [k, v] = Object.entries(obj)[0]!;
          const dup = `${text.slice(0, -1)},${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}}`;
          return hasDuplicateKeys(dup);
        },
      ),
      { numRuns: 300 },
    );
  });
});
