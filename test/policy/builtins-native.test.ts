/**
 * Output-format differences that live in OPA's compiled Wasm (not host builtins SIGIL could replace), pinned
 * against `opa eval` so docs/policy.md stays true: if an OPA or opa-wasm upgrade fixes one, this test fails.
 */
import { describe, expect, it } from 'vitest';
import { loadBundle } from '../../src/policy/load-bundle.js';
import { runTables } from './builtins-oracle.js';
import { opaBuildSources } from './support.js';

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

  it('format_int beyond 32 bits aborts the Wasm evaluation (OPA formats it)', async () => {
    const ok = await runTables([{ name: 'fi', expr: 'format_int(c, 16)', cases: [2147483647] }]);
    expect(ok.fi![0]).toMatchObject({ sigil: '7fffffff', opa: '7fffffff' });
    const bundle = await loadBundle(
      opaBuildSources({ 'p.rego': 'package t\n\nout := format_int(input.n, 10)\n' }, ['t/out']),
      {
        entrypoint: 't/out',
      },
    );
    expect(() => bundle.evaluate({ n: 2147483648 }, 0n)).toThrow(/get uint failed/);
  });
});
