/**
 * Builtins compiled into OPA's Wasm, against `opa eval`: the output-format differences SIGIL leaves (pinned so
 * docs/policy.md stays true: if an OPA or opa-wasm upgrade fixes one, this test fails), and the ones it routes
 * to Go-faithful host versions (src/policy/lib/wasm-natives.ts), which must now agree.
 */
import { describe, expect, it } from 'vitest';
import { runTables } from './builtins-oracle.js';

describe('native Wasm format differences (documented in docs/policy.md)', () => {
  it('sets iterate in Wasm hash order, not OPA sorted order; json.marshal keeps Wasm key order and does not HTML-escape', async () => {
    const o = await runTables([
      { name: 'compr', expr: '[x | some x in {y | some y in c}]', cases: [['b', 'a', 'c']] },
      { name: 'concat', expr: 'concat(",", {y | some y in c})', cases: [['b', 'a', 'c']] },
      { name: 'marshal', expr: 'json.marshal(c)', cases: [{ b: 1, a: '<&>\u2028\b' }] },
      { name: 'sprintf-set', expr: 'sprintf("%v", [{y | some y in c}])', cases: [['b', 'a'], []] },
    ]);
    const pairs = Object.fromEntries(
      Object.entries(o).map(([k, rows]) => [k, rows.map((r) => [r.sigil, r.opa])]),
    );
    expect(pairs).toEqual({
      compr: [
        [
          ['c', 'b', 'a'],
          ['a', 'b', 'c'],
        ],
      ],
      concat: [['c,b,a', 'a,b,c']],
      marshal: [['{"b":1,"a":"<&>\u2028\\u0008"}', '{"a":"\\u003c\\u0026\\u003e\\u2028\\b","b":1}']],
      'sprintf-set': [
        ['["b", "a"]', '{"a", "b"}'],
        ['[]', 'set()'],
      ],
    });
  });

  it("format_int, compiled into the Wasm, is routed to SIGIL's and equals opa eval beyond 2^32 too", async () => {
    const cases = [
      ['0', 10],
      ['-0', 10],
      ['1.9', 10],
      ['-1.9', 10],
      ['2147483647', 16],
      ['2147483648', 10],
      ['4294967296', 16],
      ['-4294967297', 2],
      ['9007199254740993', 10],
      ['1767225599999999999', 10],
      ['1e21', 10],
      ['123456789012345678901234567890', 8],
      ['1.5e3', 10],
      ['-255', 16],
      ['1e-5', 10],
      ['255', 7],
      ['255', 10.5],
    ];
    const o = await runTables([{ name: 'fi', expr: 'format_int(to_number(c[0]), c[1])', cases }]);
    expect(o.fi).toHaveLength(cases.length);
    expect(o.fi!.filter((r) => JSON.stringify(r.sigil) !== JSON.stringify(r.opa))).toEqual([]);
    expect(o.fi!.find((r) => (r.input as unknown[])[0] === '9007199254740993')?.opa).toBe('9007199254740993');
  });

  it("base64 decoders compiled into the Wasm are routed to SIGIL's and equal opa eval (lib/wasm-natives.ts)", async () => {
    const cases = [
      '',
      'YQ==',
      'YQ',
      'YQ=',
      'YQ===',
      'YWI=',
      'YWJj',
      'bGV0IG1lIGluPz4=',
      'bGV0IG1lIGluPz4',
      'bGV0IG1lIGlufn5-',
      'bGV0IG1lIGlufn5+',
      'bGV0IG1lIGluPz4==',
      'YW\nJj',
      'YW Jj',
      '/w==',
      '_w==',
      '_w',
      'YQ==YQ==',
      '!!!!',
      'Zm9vYmFy',
      'wqk=',
      42,
    ];
    const o = await runTables([
      { name: 'decode', expr: 'base64.decode(c)', cases },
      { name: 'valid', expr: 'base64.is_valid(c)', cases },
      { name: 'url', expr: 'base64url.decode(c)', cases },
    ]);
    for (const rows of Object.values(o)) {
      expect(rows).toHaveLength(cases.length);
      expect(rows.filter((r) => JSON.stringify(r.sigil) !== JSON.stringify(r.opa))).toEqual([]);
    }
    // Not vacuous: both defined and undefined results occur.
    expect(o.decode!.some((r) => r.opa === undefined)).toBe(true);
    expect(o.decode!.some((r) => r.opa === 'let me in?>')).toBe(true);
  });
});
