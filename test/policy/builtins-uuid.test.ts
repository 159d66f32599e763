/** uuid.parse against the real `opa eval`; uuid.rfc4122's per-evaluation memo as OPA keeps it per query. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBundle } from '../../src/policy/load-bundle.js';
import { coverage, disagreements, runTables } from './builtins-oracle.js';
import { OPA, opaBuildSources, tempDir } from './support.js';

const UUIDS = [
  // The 38-character form is meant for {…} but google/uuid does not check the wrapping characters.
  '00000000-0000-0000-0000-000000000000',
  'c2b5d8d8-1e6e-11ef-9c2b-0242ac120002', // v1
  'C2B5D8D8-1E6E-11EF-9C2B-0242AC120002',
  '000003e8-1e6e-21ef-9d00-0242ac120002', // v2, domain Person
  '000003e8-1e6e-21ef-9d07-0342ac120002', // v2, unknown domain, local multicast node
  '6fa459ea-ee8a-3ca4-894e-db77e160355e', // v3
  '16fd2706-8baf-433b-82eb-8c7fada847da', // v4
  '886313e1-3b8a-5372-9b90-0c9aee199e5d', // v5
  '017f22e2-79b0-7cc3-98c4-dc0c0c07398f', // v7
  '{16fd2706-8baf-433b-82eb-8c7fada847da}',
  'urn:uuid:16fd2706-8baf-433b-82eb-8c7fada847da',
  'URN:UUID:16fd2706-8baf-433b-82eb-8c7fada847da',
  '16fd27068baf433b82eb8c7fada847da',
  '16fd2706-8baf-433b-c2eb-8c7fada847da', // Microsoft variant
  '16fd2706-8baf-433b-e2eb-8c7fada847da', // future variant
  '16fd2706-8baf-433b-02eb-8c7fada847da', // reserved variant
  '16fd2706-8baf-433b-82eb-8c7fada847d',
  '16fd2706_8baf_433b_82eb_8c7fada847da',
  '16fd2706-8baf-433b-82eb-8c7fada847dz',
  '(16fd2706-8baf-433b-82eb-8c7fada847da)',
  '',
  7,
];

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuid builtins', () => {
  it('uuid.parse agrees with opa eval on every version, form and invalid input', async () => {
    const o = await runTables([{ name: 'uuid.parse', expr: 'uuid.parse(c)', cases: UUIDS }]);
    expect(disagreements(o)).toEqual([]);
    expect(coverage(o)['uuid.parse']).toEqual({ defined: 17, undefined: 5 });
  });

  it('uuid.rfc4122 repeats per key within one evaluation and changes between evaluations, like opa eval', async () => {
    const rego = `package t

out := {
  "a": uuid.rfc4122("k"),
  "b": uuid.rfc4122("k"),
  "c": uuid.rfc4122("j"),
  "d": uuid.rfc4122("é"),
  "e": uuid.rfc4122(input.key),
}
`;
    const shape = (r: Record<string, string>) => ({
      v4: Object.values(r).every((u) => V4.test(u)),
      sameKey: r.a === r.b && r.a === r.e,
      distinct: new Set([r.a, r.c, r.d]).size,
    });
    const bundle = await loadBundle(opaBuildSources({ 'p.rego': rego }, ['t/out']), { entrypoint: 't/out' });
    const first = (bundle.evaluate({ key: 'k' }, 0n) as { result: Record<string, string> }[])[0]!.result;
    const second = (bundle.evaluate({ key: 'k' }, 0n) as { result: Record<string, string> }[])[0]!.result;

    const tmp = tempDir();
    try {
      writeFileSync(join(tmp.dir, 'p.rego'), rego);
      writeFileSync(join(tmp.dir, 'in.json'), '{"key":"k"}');
      const raw = execFileSync(OPA, [
        'eval',
        '-f',
        'json',
        '-d',
        join(tmp.dir, 'p.rego'),
        '-i',
        join(tmp.dir, 'in.json'),
        'data.t.out',
      ]);
      const theirs = (
        JSON.parse(raw.toString()) as { result: { expressions: { value: Record<string, string> }[] }[] }
      ).result[0]!.expressions[0]!.value;
      expect(shape(first)).toEqual(shape(theirs));
    } finally {
      tmp.cleanup();
    }
    expect(shape(first)).toEqual({ v4: true, sameKey: true, distinct: 3 });
    expect(second.a).not.toBe(first.a);
  });
});
