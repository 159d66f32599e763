/** json.patch and json.marshal_with_options host builtins against the real `opa eval`. */
import { describe, expect, it } from 'vitest';
import { coverage, disagreements, runTables } from './builtins-oracle.js';

const doc = { a: 1, b: { c: [1, 2, 3], 'd/e': 'x', 'f~g': true }, arr: [{ k: 'v' }] };

/** [document, operations] pairs: RFC 6902 §A examples plus OPA's path quirks and failing operations. */
const PATCHES: [unknown, unknown][] = [
  [doc, [{ op: 'add', path: '/z', value: { n: null } }]],
  [doc, [{ op: 'add', path: '/b/c/1', value: 9 }]],
  [doc, [{ op: 'add', path: '/b/c/-', value: 9 }]],
  [doc, [{ op: 'add', path: '/b/c/3', value: 9 }]],
  [doc, [{ op: 'add', path: '/b/c/4', value: 9 }]],
  [doc, [{ op: 'add', path: '/b/c/01', value: 9 }]],
  [doc, [{ op: 'add', path: '/b/c/+1', value: 9 }]],
  [doc, [{ op: 'add', path: '/b/c/-1', value: 9 }]],
  [doc, [{ op: 'add', path: '/b/c/x', value: 9 }]],
  [doc, [{ op: 'add', path: ['b', 'c', 0], value: 9 }]],
  [doc, [{ op: 'add', path: '', value: 5 }]],
  [doc, [{ op: 'add', path: '//a', value: 2 }]],
  [doc, [{ op: 'add', path: 'a', value: 2 }]],
  [doc, [{ op: 'add', path: '/q/r', value: 2 }]],
  [doc, [{ op: 'add', path: '/a/r', value: 2 }]],
  [doc, [{ op: 'add', path: '/z' }]],
  [
    doc,
    [
      { op: 'remove', path: '/b/d~1e' },
      { op: 'remove', path: '/b/f~0g' },
    ],
  ],
  [doc, [{ op: 'remove', path: '/b/c/0' }]],
  [doc, [{ op: 'remove', path: '/b/c/3' }]],
  [doc, [{ op: 'remove', path: '/nope' }]],
  [doc, [{ op: 'replace', path: '/a', value: [1] }]],
  [doc, [{ op: 'replace', path: '/nope', value: 1 }]],
  [doc, [{ op: 'replace', path: '', value: [1] }]],
  [doc, [{ op: 'move', from: '/a', path: '/b/a' }]],
  [doc, [{ op: 'move', from: '/b', path: '/b/x' }]],
  [doc, [{ op: 'move', from: '/a', path: '/a' }]],
  [doc, [{ op: 'move', from: '/nope', path: '/x' }]],
  [doc, [{ op: 'move', path: '/x' }]],
  [doc, [{ op: 'copy', from: '/b', path: '/b/copy' }]],
  [doc, [{ op: 'copy', from: '/arr/0', path: '/arr/-' }]],
  [doc, [{ op: 'test', path: '/a', value: 1 }]],
  [doc, [{ op: 'test', path: '/a', value: 1.0 }]],
  [doc, [{ op: 'test', path: '/a', value: '1' }]],
  [doc, [{ op: 'test', path: '/b/c', value: [1, 2, 3] }]],
  [doc, [{ op: 'test', path: '/nope', value: null }]],
  [doc, [{ op: 'bogus', path: '/a' }]],
  [doc, [{ path: '/a' }]],
  [doc, [{ op: 'add', value: 1 }]],
  [doc, [{ op: 'add', path: 5, value: 1 }]],
  [doc, ['add']],
  [doc, []],
  [doc, { op: 'add', path: '/a', value: 1 }],
  [
    [1, 2],
    [
      { op: 'add', path: '/0', value: 0 },
      { op: 'remove', path: '/2' },
    ],
  ],
  [
    { a: [1] },
    [
      { op: 'add', path: '/a/-', value: 2 },
      { op: 'remove', path: '/a/0' },
    ],
  ],
  [{ a: 'x' }, [{ op: 'add', path: '/a/0', value: 2 }]],
  [1, []],
  ['s', [{ op: 'replace', path: '', value: 't' }]],
  [
    doc,
    [
      { op: 'add', path: '/z', value: 1 },
      { op: 'test', path: '/z', value: 2 },
    ],
  ],
];

const VALUES = [
  { b: [1, { z: 1, a: '<>&\u2028\u2029' }], a: 1.5, é: null, '\u00ff': 1, '\ufb01': 2, '😀': 3 },
  'a\u0001"\\/\b\f\n\r\t',
  [],
  {},
  [[], {}, [1]],
  null,
];

const OPTIONS = [
  {},
  { pretty: true },
  { pretty: false },
  { indent: '  ' },
  { prefix: '> ' },
  { prefix: '> ', indent: '\t' },
  { prefix: 'x', pretty: false },
  { indent: 1 },
  { pretty: 'yes' },
  { other: true },
  'pretty',
];

describe('json builtins agree with opa eval', () => {
  it('json.patch: add/remove/replace/move/copy/test, path forms and failing operations', async () => {
    const o = await runTables([{ name: 'json.patch', expr: 'json.patch(c[0], c[1])', cases: PATCHES }]);
    expect(disagreements(o)).toEqual([]);
    const cov = coverage(o);
    expect(cov['json.patch']!.defined).toBeGreaterThan(20);
    expect(cov['json.patch']!.undefined).toBeGreaterThan(15);
  });

  it('json.marshal_with_options: Go key order, escaping and indentation', async () => {
    const cases = VALUES.flatMap((v) => OPTIONS.map((opt) => [v, opt]));
    const o = await runTables([
      { name: 'json.marshal_with_options', expr: 'json.marshal_with_options(c[0], c[1])', cases },
    ]);
    expect(disagreements(o)).toEqual([]);
    const cov = coverage(o);
    expect(cov['json.marshal_with_options']!.defined).toBe(VALUES.length * 7);
  });
});
