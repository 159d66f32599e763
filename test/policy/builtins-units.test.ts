/** units.parse_bytes and units.parse host builtins against the real `opa eval`. */
import { describe, expect, it } from 'vitest';
import { coverage, disagreements, runTables } from './builtins-oracle.js';

const INPUTS = [
  '0',
  '1',
  '10',
  '1K',
  '1k',
  '1KB',
  '1kb',
  '1Ki',
  '1KiB',
  '1kib',
  '1M',
  '1m',
  '1MB',
  '1Mi',
  '1MiB',
  '1mi',
  '1G',
  '1GiB',
  '1T',
  '1Ti',
  '1P',
  '1Pi',
  '1E',
  '1Ei',
  '1EiB',
  '8EiB',
  '16EiB',
  '1.5K',
  '1.5Ki',
  '0.1KB',
  '1.1kb',
  '0.3',
  '0.001',
  '.5k',
  '5.k',
  '1e3',
  '1e3k',
  '1E3',
  '1e+3M',
  '1e-3k',
  '2.5e-1Mi',
  '1e',
  '1ek',
  '1e1234567',
  '-1k',
  '-1.5Ki',
  '+2k',
  '"10k"',
  '10 k',
  ' 10k',
  'k',
  '',
  '.',
  '1.2.3k',
  '1--k',
  '10kk',
  '10x',
  '10ib',
  '12345678901234567890',
  '1.5m',
  '3m',
  '1mb',
  '1.000000000001',
  '0x10',
  '１k',
  5,
];

describe('units builtins agree with opa eval', () => {
  it('units.parse_bytes and units.parse on SI and binary units, decimals, exponents and errors', async () => {
    const o = await runTables([
      { name: 'units.parse_bytes', expr: 'units.parse_bytes(c)', cases: INPUTS },
      { name: 'units.parse', expr: 'units.parse(c)', cases: INPUTS },
    ]);
    expect(disagreements(o)).toEqual([]);
    const cov = coverage(o);
    expect(cov['units.parse_bytes']!.defined).toBeGreaterThan(30);
    expect(cov['units.parse']!.defined).toBeGreaterThan(30);
    expect(cov['units.parse_bytes']!.undefined).toBeGreaterThan(10);
  });
});
