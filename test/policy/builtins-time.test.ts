/**
 * Time builtins (src/policy/lib/builtins/time.ts) against the real `opa eval`: every call in the table gives the
 * same value — or is undefined in both — in SIGIL's Wasm and in OPA's Go implementation. The table covers leap
 * years, DST gaps and overlaps, IANA zones (abbreviations and offsets before the first and after the last tz
 * transition), negative and int64-edge times, Go layouts and bad input.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { goFormat, goParse } from '../../src/policy/lib/builtins/go-layout.js';
import { civil, loadZone, localZone, UTC, type Zone } from '../../src/policy/lib/builtins/go-zone.js';
import { type Call, mismatches, runBoth } from './builtins-oracle-exact.js';
import { OPA } from './support.js';

const T = 1_767_225_599_999_999_999n; // 2025-12-31T23:59:59.999999999Z (not a double: tests exact digits)
const LEAP = 1_709_164_800_123_456_789n; // 2024-02-29T00:00:00.123456789Z
const NY_SPRING = 1_741_503_600_000_000_000n; // 2025-03-09T07:00:00Z = 03:00 EDT, just after the gap
const NY_FALL = 1_762_063_200_000_000_000n; // 2025-11-02T06:00:00Z = 01:00 EST, inside the repeated hour
const NEG = -1_000_000_001n; // 1969-12-31T23:59:58.999999999Z
const MAX = 9_223_372_036_854_775_807n;
const MIN = -9_223_372_036_854_775_808n;
const ZONES = [
  'UTC',
  '',
  'Local',
  'America/New_York',
  'Europe/Berlin',
  'Asia/Kolkata',
  'Australia/Lord_Howe',
  'Pacific/Chatham',
  'Asia/Kathmandu',
  'America/St_Johns',
  'US/Eastern',
  'Etc/GMT+5',
  'EST',
  'Factory',
  'posixrules',
  'Etc',
  'Nowhere/City',
  'america/new_york',
  '../etc/passwd',
];
const TIMES = [T, LEAP, NY_SPRING, NY_FALL, NEG, 0n, MAX, MIN];

/** Every one-argument time builtin over numbers, [ns, zone] pairs and malformed arguments. */
function oneArg(): Call[] {
  const args: unknown[] = [
    ...TIMES,
    ...TIMES.flatMap((t) => ZONES.map((z) => [t, z])),
    [],
    [T, 5],
    ['2025', 'UTC'],
    '1767225600000000000',
    1.5,
    1e300,
    1_767_225_600.5,
    null,
    [T, 'UTC', 'ignored-layout'],
  ];
  return ['time.clock', 'time.date', 'time.weekday'].flatMap((f) => args.map((a) => ({ f, a: [a] })));
}

const LAYOUTS = [
  '',
  'RFC3339',
  'RFC3339Nano',
  'ANSIC',
  'UnixDate',
  'RubyDate',
  'RFC822',
  'RFC822Z',
  'RFC850',
  'RFC1123',
  'RFC1123Z',
  '2006-01-02',
  'Monday, January 2 2006 3:04:05.000 PM -07:00:00',
  'Mon Jan _2 __2 002 06 1 01 2 _2 02 15 3 03 4 04 5 05 pm PM',
  '.0 .00 .000000 .999 ,999 .9 .999999999 .0000000000',
  'Z07 Z0700 Z07:00 Z070000 Z07:00:00 -07 -0700 -07:00 -070000 -07:00:00',
  'MST',
  '_2006 Janx Monx 2006x',
  'no layout chars here!',
  'héllo 2006 ü',
];

function formats(): Call[] {
  const out: Call[] = [];
  for (const t of [T, LEAP, NY_FALL, NEG, 1_700_000_000_000_000_000n])
    for (const l of LAYOUTS) out.push({ f: 'time.format', a: [[t, 'America/New_York', l]] });
  const zones = [
    'UTC',
    'Asia/Kathmandu',
    'Pacific/Chatham',
    'Etc/GMT+5',
    'Europe/Berlin',
    'Local',
    'Asia/Tokyo',
  ];
  zones.push(
    'America/Sao_Paulo',
    'Australia/Lord_Howe',
    'Europe/Dublin',
    'Africa/Casablanca',
    'EST',
    'Asia/Kolkata',
  );
  // Now, summer, 1883 (before railway time), 1677 (before the first transition), and 2150 / 2200 winter and
  // summer (after the last transition: from the POSIX TZ footer rule).
  const far = [5_681_534_400_000_000_000n, 7_258_118_400_000_000_000n, 7_273_800_000_000_000_000n];
  for (const t of [T, 1_751_328_000_000_000_000n, -2_717_668_800_000_000_000n, MIN, ...far])
    for (const z of zones)
      for (const l of ['', 'RFC822Z', 'Z07:00:00 -07', 'MST']) out.push({ f: 'time.format', a: [[t, z, l]] });
  out.push(
    { f: 'time.format', a: [T] },
    { f: 'time.format', a: [[T]] },
    { f: 'time.format', a: [[T, 'UTC', 3]] },
  );
  out.push(
    { f: 'time.format', a: [[MAX, 'UTC']] },
    { f: 'time.format', a: [[MIN, 'Asia/Kolkata', 'RFC1123']] },
  );
  return out;
}

function addDates(): Call[] {
  const out: Call[] = [];
  const deltas: [number, number, number][] = [
    [0, 0, 0],
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
    [-1, -1, -1],
    [0, 13, 0],
    [0, -25, 400],
    [4, 0, 0],
    [1000, 0, 0],
    [-300, 0, 0],
    [0, 0, 36500],
  ];
  for (const t of [T, LEAP, NY_SPRING - 3_600_000_000_000n, NY_FALL, NEG])
    for (const [y, m, d] of deltas) {
      out.push({ f: 'time.add_date', a: [t, y, m, d] });
      out.push({ f: 'time.add_date', a: [[t, 'America/New_York'], y, m, d] });
    }
  // 2024-01-31 + 1 month = March 2 (Go normalises); DST-gap wall times move forward.
  out.push({ f: 'time.add_date', a: [1_706_659_200_000_000_000n, 0, 1, 0] });
  out.push({ f: 'time.add_date', a: [[1_741_419_000_000_000_000n, 'America/New_York'], 0, 0, 1] });
  out.push({ f: 'time.add_date', a: [[1_730_525_400_000_000_000n, 'America/New_York'], 0, 0, -1] });
  out.push({ f: 'time.add_date', a: [T, 1.5, 0, 0] }, { f: 'time.add_date', a: [T, '1', 0, 0] });
  out.push(
    { f: 'time.add_date', a: [MAX, 0, 0, 1] },
    { f: 'time.add_date', a: [[T, 'Nowhere/City'], 0, 0, 1] },
  );
  return out;
}

function diffs(): Call[] {
  const pairs: [unknown, unknown][] = [
    [T, LEAP],
    [LEAP, T],
    [T, T],
    [NEG, T],
    [1_706_659_200_000_000_000n, 1_709_164_800_000_000_000n], // Jan 31 → Feb 29
    [1_709_164_800_000_000_000n, 1_740_787_200_000_000_000n], // Feb 29 2024 → Mar 1 2025
    [
      [NY_SPRING, 'America/New_York'],
      [NY_FALL, 'Europe/Berlin'],
    ],
    [[NY_FALL, 'Asia/Kolkata'], T],
    [
      [T, 'Pacific/Chatham'],
      [LEAP, 'UTC'],
    ],
    [MIN, MAX],
    [T, 'x'],
    [[T, 'Nowhere/City'], T],
  ];
  return pairs.map(([a, b]) => ({ f: 'time.diff', a: [a, b] }));
}

const PARSE_CASES: [string, string][] = [
  ['RFC3339', '2026-01-01T00:00:00Z'],
  ['RFC3339', '2026-01-01T00:00:00.123456789123+05:30'],
  ['RFC3339Nano', '2026-01-01T00:00:00.5-00:00'],
  ['2006-01-02', '2024-02-29'],
  ['2006-01-02', '2023-02-29'],
  ['2006-01-02', '2024-2-29'],
  ['2006-1-2', '2024-2-9'],
  ['02 Jan 06 15:04 MST', '09 Mar 25 02:30 EST'],
  ['02 Jan 06 15:04 MST', '09 Mar 25 02:30 UTC'],
  ['02 Jan 06 15:04 MST', '09 Mar 25 02:30 GMT+3'],
  ['02 Jan 06 15:04 MST', '09 Mar 25 02:30 ChST'],
  ['02 Jan 06 15:04 MST', '09 Mar 25 02:30 ABCDEF'],
  ['Jan _2 2006', 'Feb  3 2030'],
  ['Jan _2 2006', 'FEB 3 2030'],
  ['January 2, 2006 3:04 PM', 'december 25, 1999 12:00 AM'],
  ['January 2, 2006 3:04 PM', 'December 25, 1999 12:00 pm'],
  ['January 2, 2006 3:04 pm', 'December 25, 1999 13:00 pm'],
  ['Mon Jan 2 2006', 'Fri Jan 2 2006'],
  ['2006 002', '2024 060'],
  ['2006 __2', '2024  61'],
  ['2006 002 Jan 2', '2024 060 Feb 29'],
  ['2006 002 Jan 2', '2024 060 Mar 1'],
  ['2006 002', '2023 366'],
  ['06', '68'],
  ['06', '69'],
  ['15:04:05', '24:00:00'],
  ['15:04:05', '23:59:60'],
  ['15:04:05', '7:05:09,25'],
  ['15:04:05.000', '07:05:09.25'],
  ['15:04:05.000', '07:05:09.250'],
  ['15:04:05.999', '07:05:09'],
  ['2006-01-02T15:04:05Z0700', '2020-01-01T00:00:00+2460'],
  ['2006-01-02T15:04:05Z0700', '2020-01-01T00:00:00+2461'],
  ['2006-01-02T15:04:05-07', '2020-01-01T00:00:00-03'],
  ['2006-01-02T15:04:05-07:00:00', '2020-01-01T00:00:00-03:30:15'],
  ['2006-01-02 15:04', '2020-01-01   15:04'],
  ['2006-01-02  15:04', '2020-01-01 15:04'],
  ['2006-01-02', '2020-01-01 extra'],
  ['2006-01-02', ''],
  ['', ''],
  ['', 'x'],
  ['1677-01-02', '1677-09-21'],
  ['2006-01-02', '2262-04-12'],
  ['2006-01-02', '1677-09-22'],
  ['2006-01-02', '0000-01-01'],
  ['2006-01-02', '+123-01-01'],
  ['06-01-02', '+1-01-02'],
  ['RFC1123', 'Mon, 02 Jan 2006 15:04:05 MST'],
  ['RFC850', 'Monday, 02-Jan-06 15:04:05 PST'],
  ['ANSIC', 'Mon Jan  2 15:04:05 2006'],
  ['RubyDate', 'Mon Jan 02 15:04:05 -0700 2006'],
  ['héllo 2006', 'héllo 2020'],
];

const RFC3339_VALUES = [
  '2026-01-01T00:00:00Z',
  '2026-01-01t00:00:00Z',
  '2026-01-01T00:00:00z',
  '2026-01-01 00:00:00Z',
  '2026-01-01T00:00:00',
  '2026-01-01T00:00:00.Z',
  '2026-01-01T00:00:00.1234567891Z',
  '2026-01-01T00:00:00,5Z',
  '2026-01-01T5:00:00Z',
  '2026-01-01T24:00:00Z',
  '2026-01-01T00:60:00Z',
  '2026-01-01T00:00:60Z',
  '2026-02-29T00:00:00Z',
  '2024-02-29T00:00:00Z',
  '2026-13-01T00:00:00Z',
  '2026-00-01T00:00:00Z',
  '2026-01-01T00:00:00+24:00',
  '2026-01-01T00:00:00+23:60',
  '2026-01-01T00:00:00+25:00',
  '2026-01-01T00:00:00+0100',
  '2026-01-01T00:00:00-01:30',
  '26-01-01T00:00:00Z',
  '2262-04-11T23:47:16.854775807Z',
  '2262-04-11T23:47:16.854775808Z',
  '1677-09-21T00:12:43.145224192Z',
  '1677-09-21T00:12:43.145224191Z',
  '',
];

const DURATIONS = [
  '0',
  '-0',
  '+0',
  '',
  '1h',
  '1.5h',
  '-1.5h',
  '1h30m',
  '300ms',
  '-1.000000001h3µs',
  '2μs',
  '1us1ns',
  '.5s',
  '5.s',
  '.s',
  '1',
  '1d',
  '1H',
  '1.5d',
  '2w',
  '1y1d',
  '293y',
  '1mo',
  '2562047h47m16.854775807s',
  '2562047h47m16.854775808s',
  '-2562047h47m16.854775808s',
  '9223372036854775807ns',
  '9223372036854775808ns',
  '1.0000000000000000000001s',
  '0.333333333333333333333h',
  '1h 30m',
  '1h-30m',
];

describe('time builtins equal opa eval', () => {
  const tables: [string, () => Call[]][] = [
    ['time.clock / time.date / time.weekday over zones, edges and bad arguments', oneArg],
    ['time.format with Go layouts in several zones', formats],
    ['time.add_date across month ends, leap days and DST', addDates],
    ['time.diff', diffs],
    ['time.parse_ns with Go layouts', () => PARSE_CASES.map(([l, v]) => ({ f: 'time.parse_ns', a: [l, v] }))],
    [
      'time.parse_rfc3339_ns (Go time.Parse(RFC3339): upper-case T/Z only)',
      () => RFC3339_VALUES.map((v) => ({ f: 'time.parse_rfc3339_ns', a: [v] })),
    ],
    ['time.parse_duration_ns', () => DURATIONS.map((d) => ({ f: 'time.parse_duration_ns', a: [d] }))],
  ];
  for (const [name, make] of tables) {
    it(name, async () => {
      const calls = make();
      const { ours, theirs } = await runBoth(calls);
      expect(theirs).toHaveLength(calls.length);
      const defined = theirs.filter((o) => 'v' in o).length;
      // Not vacuous: both defined results and undefined (error) results occur.
      expect(defined).toBeGreaterThan(0);
      expect(defined).toBeLessThan(calls.length);
      expect(mismatches(calls, ours, theirs)).toEqual([]);
    });
  }
});

describe('zone abbreviations in time.parse_ns resolve against Local as in Go', () => {
  const LAYOUT = '02 Jan 06 15:04 MST';
  const VALUES = [
    '09 Jan 25 02:30 EST',
    '09 Jul 25 02:30 EDT',
    '09 Jul 25 02:30 EST',
    '09 Jul 25 02:30 CEST',
    '09 Jan 25 02:30 AEDT',
    '09 Jul 25 02:30 AEST',
    '09 Jul 25 02:30 PST',
    '09 Jul 25 02:30 GMT+3',
  ];
  for (const tz of [
    '',
    'UTC',
    'America/New_York',
    'Europe/Berlin',
    'Australia/Sydney',
    ':Asia/Tokyo',
    'Bad/Zone',
  ]) {
    it(`TZ=${JSON.stringify(tz)}`, () => {
      const expr = `[time.parse_ns(${JSON.stringify(LAYOUT)}, v) | some v in ${JSON.stringify(VALUES)}]`;
      const out = execFileSync(OPA, ['eval', '-f', 'json', expr], {
        env: { ...process.env, TZ: tz },
      }).toString();
      const theirs = JSON.parse(out.replace(/(-?\d{16,})/g, '"$1"')).result[0].expressions[0]
        .value as string[];
      const saved = process.env.TZ;
      process.env.TZ = tz;
      try {
        const ours = VALUES.map((v) => goParse(LAYOUT, v, localZone())?.toString());
        expect(ours).toEqual(theirs);
      } finally {
        if (saved === undefined) delete process.env.TZ;
        else process.env.TZ = saved;
      }
      // Not vacuous where Local has the abbreviations: results differ from reading the wall time as UTC.
      if (tz === 'America/New_York') expect(theirs[0]).not.toBe(goParse(LAYOUT, VALUES[0]!, UTC)!.toString());
    });
  }
});

describe('ICU fallback (hosts without /usr/share/zoneinfo)', () => {
  it('gives the same offsets as the TZif data for modern instants, and refuses non-tz abbreviations', () => {
    const viaIcu = (id: string): Zone => ({ utc: false, id, file: '/nonexistent/zoneinfo' });
    for (const id of ['America/New_York', 'Europe/Berlin', 'Asia/Kolkata', 'Australia/Lord_Howe']) {
      for (const t of [T, NY_SPRING, NY_FALL, 1_751_328_000_000_000_000n]) {
        const a = civil(t, viaIcu(id))!;
        const b = civil(t, loadZone(id)!)!;
        expect({ ...a, zoneName: '' }, `${id} ${t}`).toEqual({ ...b, zoneName: '' });
      }
    }
    expect(goFormat(civil(T, viaIcu('America/New_York'))!, 'MST')).toBe('EST');
    expect(goFormat(civil(T, viaIcu('Europe/Berlin'))!, 'MST')).toBeUndefined(); // ICU: "GMT+1", Go: "CET"
  });
});
