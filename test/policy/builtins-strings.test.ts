/** strings.count, glob.quote_meta and urlquery.encode_object host builtins against the real `opa eval`. */
import { describe, expect, it } from 'vitest';
import { coverage, disagreements, runTables } from './builtins-oracle.js';

describe('string builtins agree with opa eval', () => {
  it('strings.count, glob.quote_meta, urlquery.encode_object', async () => {
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
