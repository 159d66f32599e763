/** sprintf with Go fmt semantics (SIGIL's host version replaces opa-wasm's sprintf-js) against `opa eval`. */
import { describe, expect, it } from 'vitest';
import { startWorkerEvaluator } from '../../src/policy/lib/worker-evaluator.js';
import { disagreements, runTables } from './builtins-oracle.js';
import { opaBuildSources } from './support.js';

const CASES: [string, unknown[]][] = [
  ['%v %v %v %v %v', ['s', 42, 1.5, true, null]],
  [
    '%s|%q|%x|% x|%X|%5s|%-5s|%05s|%.2s|%5.1s|%.2q',
    ['é"\\', 'a\u0000\u00e9\u2028\u{1F600}\u0085', 'hi', 'hi', 'hi', 'ab', 'ab', 'ab', 'xyz', 'xyz', 'abc'],
  ],
  [
    '%d|%5d|%-5d|%05d|%+d|% d|%x|%#x|%X|%#X|%o|%#o|%O|%b|%c|%q|%U|%#U|%.3d|%8.3d|%08.3d|%.0d',
    [42, 42, 42, -42, 42, 42, 255, 255, -255, 255, 8, 8, 8, 5, 0x1f600, 39, 0x1f600, 65, 7, 7, 7, 0],
  ],
  [
    '%v|%g|%G|%e|%E|%f|%F|%.2f|%.0f|%.0f|%.0f|%8.3f|%-8.2e|%+.1e|%.3g|%.10g|%#g|%g|%g|%g|%g|%g',
    [
      1.5,
      1e6,
      1e-7,
      1234.5678,
      1e-7,
      0.1,
      0.1,
      0.125,
      2.5,
      3.5,
      0.5,
      2.34567,
      1234.5,
      -0.00012345,
      1234.5678,
      1 / 3,
      1.5,
      100000.5,
      0.0001,
      0.00001,
      123456789.5,
      1e21,
    ],
  ],
  ['%v %v', [1e21, 1.7976931348623157e308]],
  ['%v', [[1, 'a', { b: null, a: [true] }]]],
  ['%v|%s|%d', [{ 'k"': 'é\n\u0001\u200b' }, [1], [1]]],
  ['%d|%s|%t|%z|%e', [1.5, 3, true, 1, 'x']],
  ['%T|%T|%T|%T|%T|%T', [1, 1.5, 'a', [1], true, null]],
  ['%d %d', [1]],
  ['%d', [1, 'a', 2.5, [1]]],
  ['%[2]d %[1]s', ['a', 5]],
  ['%', []],
  ['%!', []],
  ['100%%', []],
  ['%6.2v|%.3v|%10v|%-10v|', [2.34567, 'abcdef', [1], true]],
  ['%v', [9007199254740991]],
  ['%v', [-9007199254740991]],
  ['%x %o %b', [-1, -8, -5]],
  ['%c|%c|%q', [-1, 0xd800, 0x110000]],
  ['no verbs', []],
  ['ü%vü', ['ß']],
  ['%1000001d|%.1000001d|', [1, 2]],
  ['%12345678d|', [1]],
];

describe('sprintf agrees with opa eval', () => {
  it('verbs, flags, width, precision, argument errors and Rego value text', async () => {
    const o = await runTables([
      { name: 'sprintf', expr: 'sprintf(c[0], c[1])', cases: CASES },
      {
        name: 'sprintf(bad)',
        expr: 'sprintf(c[0], c[1])',
        cases: [
          [1, []],
          ['%v', 'x'],
          ['%*d', [5, 1]],
        ],
      },
    ]);
    expect(disagreements(o)).toEqual([]);
    expect(o.sprintf!.every((r) => typeof r.sigil === 'string')).toBe(true);
  });
});

describe("SIGIL's sprintf and regex.split replace opa-wasm's JS versions", () => {
  it('also inside an isolation worker, which loads its own copy of opa-wasm', async () => {
    // Arguments come from the input so that nothing is folded at build time.
    const rego = 'package t\n\nout := [sprintf(input.f, input.args), regex.split(input.re, input.s)]\n';
    const input = { f: '%q|%v|%5.1f', args: ['a\u0000', { b: [1] }, 2.25], re: '\\s', s: 'a\u00a0b c' };
    const worker = await startWorkerEvaluator(opaBuildSources({ 'p.rego': rego }, ['t/out']), {
      entrypoint: 't/out',
    });
    try {
      const r = worker.evaluateBounded(input, 0n, 10_000);
      // sprintf-js has no %q and prints objects as [object Object]; JS \\s would also split at U+00A0.
      expect(r).toEqual({
        kind: 'result',
        prints: [],
        resultSet: [{ result: ['"a\\x00"|{"b": [1]}|  2.2', ['a\u00a0b', 'c']] }],
      });
    } finally {
      await worker.close();
    }
  });
});
