/**
 * The one parser of user-typed times (src/lib/parse-time.ts): epoch ms or ISO 8601 / RFC 3339, with the
 * inputs `Date.parse` took but should not (loose English, rolled-over dates, local-zone date-times) refused,
 * each caller's stable code on a refusal.
 */
import { describe, expect, it } from 'vitest';
import { LedgerError } from '../../src/ledger/errors.js';
import { parseTimeMs, requireTimeMs } from '../../src/lib/parse-time.js';

const accepted: Array<[string, number]> = [
  ['0', 0],
  ['2026', 2026], // digits are epoch ms, never a year
  ['1767225600000', 1_767_225_600_000],
  ['0001767225600000', 1_767_225_600_000], // 16 digits
  ['9007199254740991', Number.MAX_SAFE_INTEGER],
  ['1970-01-01', 0],
  ['2026-01-01', 1_767_225_600_000],
  ['2024-02-29', 1_709_164_800_000],
  ['2026-01-01T00:00:00Z', 1_767_225_600_000],
  ['2026-01-01T00:00Z', 1_767_225_600_000],
  ['2026-01-01t00:00:00z', 1_767_225_600_000],
  ['2026-01-01 00:00:00Z', 1_767_225_600_000],
  ['2026-01-01T00:00:00.5Z', 1_767_225_600_500],
  ['2026-01-01T00:00:00.123456789Z', 1_767_225_600_123],
  ['2026-01-01T01:30:00+01:30', 1_767_225_600_000],
  ['2025-12-31T23:00:00-01:00', 1_767_225_600_000],
  ['2026-12-31T23:59:59Z', 1_798_761_599_000],
];

const rejected: string[] = [
  '',
  'yesterday',
  'x 1', // Date.parse: 2001-01-01
  'Dec 5 2026',
  '2026-1-1',
  '-1',
  '1e3',
  '12345678901234567', // 17 digits
  '9007199254740992', // above 2^53 − 1
  '2026-02-30', // Date.parse: March 2
  '2025-02-29',
  '2026-13-01',
  '2026-00-10',
  '2026-01-00',
  '2026-01-01T00:00:00', // local time of the machine
  '2026-01-01T00:00',
  '2026-01-01T24:00:00Z',
  '2026-01-01T23:60:00Z',
  '2026-12-31T23:59:60Z', // leap second
  '2026-01-01T00:00:00+24:00',
  '2026-01-01T00:00:00+0100',
  '2026-01-01T00:00:00.Z',
  '1969-12-31',
  '1970-01-01T00:30:00+01:00', // before the epoch
  '0075-01-01', // Date.UTC would read 1975
  '+002026-01-01',
  ' 2026-01-01',
  '2026-01-01Z',
];

describe('parseTimeMs', () => {
  it.each(accepted)('accepts %j as %d', (v, ms) => {
    expect(parseTimeMs(v)).toBe(ms);
  });

  it.each(rejected)('rejects %j', (v) => {
    expect(parseTimeMs(v)).toBeUndefined();
  });

  it('matches Date.parse on every accepted ISO form', () => {
    for (const [v] of accepted.filter(([v]) => v.includes('-') && !v.includes('.123456789'))) {
      expect(parseTimeMs(v), v).toBe(Date.parse(v.replace(' ', 'T').toUpperCase()));
    }
  });
});

describe('requireTimeMs', () => {
  it("throws the caller's error, naming the argument, for every rejected input", () => {
    for (const v of rejected) {
      expect(() => requireTimeMs(v, '--since', (m) => new LedgerError('LEDGER_BAD_ARGUMENT', m)), v).toThrow(
        expect.objectContaining({
          code: 'LEDGER_BAD_ARGUMENT',
          message: expect.stringMatching(/^--since must be epoch ms or an ISO 8601 date/),
        }),
      );
    }
    expect(requireTimeMs('2026-01-01', '--since', () => new Error('unused'))).toBe(1_767_225_600_000);
  });
});
