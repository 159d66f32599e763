/** strings.count, indexof_n, numbers.range_step, glob.quote_meta, urlquery.encode_object against `opa eval`. */
import { describe, expect, it } from 'vitest';
import { coverage, disagreements, runTables } from './builtins-oracle.js';

describe('string builtins agree with opa eval', () => {
  it('strings.count, indexof_n, numbers.range_step, glob.quote_meta, urlquery.encode_object', async () => {
    const o = await runTables([
      {
        name: 'strings.count',
        expr: 'strings.count(c[0], c[1])',
        cases: [
          ['aaaa', 'aa'],
          ['abc', ''],
          ['', ''],
          ['日本日本', ''],
          ['日本日本', '本'],
          ['😀a😀', '😀'],
          ['abc', 'x'],
          ['cheese', 'e'],
          ['five', ''],
          [1, 'a'],
          ['a', null],
        ],
      },
      {
        name: 'indexof_n',
        expr: 'indexof_n(c[0], c[1])',
        cases: [
          ['aaaa', 'aa'],
          ['日本日本x', '本'],
          ['😀a😀', '😀'],
          ['abc', 'd'],
          ['abc', ''],
          ['', ''],
          ['', 'a'],
          ['abcabc', 'abc'],
          [1, 'a'],
        ],
      },
      {
        name: 'numbers.range_step',
        expr: 'numbers.range_step(c[0], c[1], c[2])',
        cases: [
          [1, 10, 3],
          [10, 1, 3],
          [1, 1, 3],
          [1, 10, 0],
          [1, 10, -1],
          [1.5, 10, 3],
          [1, 10, 2.5],
          [1, 10, 1.0],
          [-3, 3, 2],
          [3, -3, 2],
          [0, 5, 10],
          ['1', 5, 1],
        ],
      },
      {
        name: 'glob.quote_meta',
        expr: 'glob.quote_meta(c)',
        cases: ['*.github.com', '*,?\\[]{}!-a.é', 'api.[a-z]*', '{a,b}', '', 'ünïcödé*?', '\\', 42],
      },
      {
        name: 'urlquery.encode_object',
        expr: 'urlquery.encode_object(c)',
        cases: [
          { a: 'b' },
          { a: ['x y', 'z'], b: 'é&=', '0': 'a', 'k~*': "!'()" },
          { z: [], a: '' },
          { 'ä b': ['1', '2', '1'] },
          { a: 1 },
          { a: ['x', 2] },
          { a: { b: 'c' } },
          {},
          'a=b',
        ],
      },
    ]);
    expect(disagreements(o)).toEqual([]);
    const cov = coverage(o);
    for (const name of Object.keys(cov)) {
      expect(cov[name]!.defined, name).toBeGreaterThan(4);
      expect(cov[name]!.undefined, name).toBeGreaterThan(0);
    }
  });
});
