/** semver.* host builtins against the real `opa eval` (see builtins-oracle.ts). */
import { describe, expect, it } from 'vitest';
import { coverage, disagreements, runTables } from './builtins-oracle.js';

const VERSIONS = [
  '1.2.3',
  'v1.2.3',
  'vv1.2.3',
  'V1.2.3',
  '0.0.0',
  '1.2',
  '1.2.3.4',
  '01.2.3',
  '1.02.3',
  '1.2.03',
  '+1.2.3',
  '-1.2.3',
  '1.-2.3',
  ' 1.2.3',
  '1.2.3 ',
  '1.2.3-',
  '1.2.3+',
  '1.2.3-+',
  '1.2.3-a+',
  '1.2.3-0',
  '1.2.3-01',
  '1.2.3-0a',
  '1.2.3-a.01',
  '1.2.3+01',
  '1.2.3-a..b',
  '1.2.3-.a',
  '1.2.3-a-b',
  '1.2.3-rc.1+build.5',
  '1.2.3-é',
  '9223372036854775807.0.0',
  '9223372036854775808.0.0',
  '1.0.0-9223372036854775808',
  '',
  'x',
  5,
  null,
];

// Not here: numeric pre-release identifiers beyond int64 (1.0.0-9223372036854775808 vs …809) hang OPA v1.22 (an
// infinite loop after Atoi clamps both to the maximum); SIGIL compares them exactly.
const PAIRS = [
  ['1.0.0', '1.0.1'],
  ['1.0.1', '1.0.0'],
  ['1.1.0', '1.0.9'],
  ['2.0.0', '10.0.0'],
  ['1.0.0', 'v1.0.0'],
  ['1.0.0-alpha', '1.0.0-alpha.1'],
  ['1.0.0-alpha.1', '1.0.0-alpha.beta'],
  ['1.0.0-alpha.beta', '1.0.0-beta'],
  ['1.0.0-beta', '1.0.0-beta.2'],
  ['1.0.0-beta.2', '1.0.0-beta.11'],
  ['1.0.0-beta.11', '1.0.0-rc.1'],
  ['1.0.0-rc.1', '1.0.0'],
  ['1.0.0-1', '1.0.0-a'],
  ['1.0.0-B', '1.0.0-a'],
  ['1.0.0-a.1', '1.0.0-a.1.0'],
  ['1.0.0+a', '1.0.0+b'],
  ['1.0.0-99', '1.0.0-100'],
  ['x', '1.0.0'],
  ['1.0.0', '1.0'],
  ['1.0.0-01', '1.0.0-1'],
  [1, '1.0.0'],
];

describe('semver builtins agree with opa eval', () => {
  it('semver.is_valid and semver.compare on valid, invalid and edge versions', async () => {
    const o = await runTables([
      { name: 'semver.is_valid', expr: 'semver.is_valid(c)', cases: VERSIONS },
      { name: 'semver.compare', expr: 'semver.compare(c[0], c[1])', cases: PAIRS },
    ]);
    expect(disagreements(o)).toEqual([]);
    const cov = coverage(o);
    expect(cov['semver.is_valid']!.defined).toBe(VERSIONS.length); // is_valid is never undefined
    expect(cov['semver.compare']!.defined).toBeGreaterThan(15);
    expect(cov['semver.compare']!.undefined).toBeGreaterThan(2);
  });
});
