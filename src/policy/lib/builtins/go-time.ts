/**
 * Go `time` semantics that OPA's time builtins inherit (topdown/time.go calls Go's time package): calendar
 * arithmetic, IANA zone offsets, `Time.Format`, `time.Parse` and `time.ParseDuration` with Go layouts. Zone data
 * comes from ICU (`Intl`), zone names are checked against the same tz database Go loads (system zoneinfo, else
 * ICU's list). Strings are processed as bytes (UTF-8 read as latin1), as Go does, so lengths match.
 */
import { existsSync, readFileSync } from 'node:fs';

/** Seconds in a day. */
const DAY = 86_400;
const NS = 1_000_000_000n;
/** int64 nanosecond range of `time.Time.UnixNano` (OPA refuses times outside it: "time outside of valid range"). */
export const MIN_NS = -(2n ** 63n);
export const MAX_NS = 2n ** 63n - 1n;

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil); month may be 1..12. */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** [year, month, day] of a day count since 1970-01-01 (civil_from_days). */
function civilFromDays(days: number): [number, number, number] {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp + (mp < 10 ? 3 : -9);
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

const isLeap = (y: number) => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
export const daysIn = (m: number, y: number) =>
  m === 2 ? (isLeap(y) ? 29 : 28) : [4, 6, 9, 11].includes(m) ? 30 : 31;

/** A time zone: Go's UTC, or an IANA zone evaluated through ICU. */
/** A time zone: Go's UTC, or a tz database zone (`file`: its TZif path when not `ZONEINFO/id`, e.g. /etc/localtime). */
export type Zone = { utc: true } | { utc: false; id: string; file?: string };
export const UTC: Zone = { utc: true };

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(id: string): Intl.DateTimeFormat {
  let f = formatters.get(id);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: id,
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      timeZoneName: 'short',
    });
    formatters.set(id, f);
  }
  return f;
}

/** One local time type of a TZif file (RFC 8536 §3.2). */
interface TzType {
  offset: number;
  isDst: boolean;
  abbr: string;
}

/** The parts of a TZif file Go's time package uses: transitions, types, and the footer's zone names. */
interface Tzif {
  when: number[];
  index: number[];
  types: TzType[];
  /** POSIX TZ footer (RFC 8536 §3.3) for times after the last transition ("" if none). */
  extend: string;
}

const tzifCache = new Map<string, Tzif | null>();

/**
 * The system zoneinfo file for `id`, parsed (RFC 8536: the version 2+ 64-bit block when present), or null. Go
 * reads the same file, so offsets and abbreviations before the last transition are Go's exactly.
 */
function tzif(file: string): Tzif | null {
  if (tzifCache.has(file)) return tzifCache.get(file)!;
  let data: Tzif | null = null;
  try {
    data = parseTzif(readFileSync(file));
  } catch {
    data = null;
  }
  tzifCache.set(file, data);
  return data;
}

function parseTzif(b: Buffer): Tzif | null {
  if (b.toString('latin1', 0, 4) !== 'TZif') return null;
  const counts = (at: number) => [0, 1, 2, 3, 4, 5].map((i) => b.readUInt32BE(at + 20 + 4 * i));
  let at = 0;
  let [isut, isstd, leap, timecnt, typecnt, charcnt] = counts(0);
  let timeSize = 4;
  if (b[4]! >= 0x32) {
    // Skip the version 1 block; the version 2+ header and 64-bit data follow.
    at = 44 + timecnt! * 5 + typecnt! * 6 + charcnt! + leap! * 8 + isstd! + isut!;
    [isut, isstd, leap, timecnt, typecnt, charcnt] = counts(at);
    timeSize = 8;
  }
  let p = at + 44;
  const when: number[] = [];
  for (let i = 0; i < timecnt!; i++, p += timeSize)
    when.push(timeSize === 8 ? Number(b.readBigInt64BE(p)) : b.readInt32BE(p));
  const index = [...b.subarray(p, p + timecnt!)];
  p += timecnt!;
  const raw: [number, boolean, number][] = [];
  for (let i = 0; i < typecnt!; i++, p += 6) raw.push([b.readInt32BE(p), b[p + 4] === 1, b[p + 5]!]);
  const chars = b.toString('latin1', p, p + charcnt!);
  p += charcnt! + leap! * (timeSize + 4) + isstd! + isut!;
  const types = raw.map(([offset, isDst, ai]) => ({
    offset,
    isDst,
    abbr: chars.slice(ai, chars.indexOf('\0', ai)),
  }));
  const footer = timeSize === 8 ? (b.toString('latin1', p).split('\n')[1] ?? '') : '';
  return { when, index, types, extend: footer };
}

/** A POSIX TZ rule date (Jn, n or Mm.w.d) and time of day in seconds. */
interface TzRule {
  kind: 'julian' | 'doy' | 'mwd';
  day: number;
  week: number;
  mon: number;
  time: number;
}

/** Go's tzsetName: "<...>" or 3+ characters up to a digit, ',', '-' or '+'. */
function tzsetName(s: string): [string, string] | undefined {
  if (s === '') return undefined;
  if (s[0] === '<') {
    const i = s.indexOf('>');
    return i < 0 ? undefined : [s.slice(1, i), s.slice(i + 1)];
  }
  const i = s.search(/[0-9,+-]/);
  if (i < 0) return s.length < 3 ? undefined : [s, ''];
  return i < 3 ? undefined : [s.slice(0, i), s.slice(i)];
}

/** Go's tzsetNum: a decimal number in [min, max]. */
function tzsetNum(s: string, min: number, max: number): [number, string] | undefined {
  const m = /^\d+/.exec(s);
  if (!m) return undefined;
  const n = Number(m[0]);
  return n < min || n > max ? undefined : [n, s.slice(m[0].length)];
}

/** Go's tzsetOffset: [+-]hh[:mm[:ss]] in seconds (hours up to 167). */
function tzsetOffset(input: string): [number, string] | undefined {
  let s = input;
  const neg = s[0] === '-';
  if (s[0] === '+' || s[0] === '-') s = s.slice(1);
  let r = tzsetNum(s, 0, 24 * 7);
  if (!r) return undefined;
  let off = r[0] * 3600;
  s = r[1];
  for (const unit of [60, 1]) {
    if (s[0] !== ':') break;
    r = tzsetNum(s.slice(1), 0, 59);
    if (!r) return undefined;
    off += r[0] * unit;
    s = r[1];
  }
  return [neg ? -off : off, s];
}

/** Go's tzsetRule: Jn (1..365, no Feb 29), n (0..365) or Mm.w.d, then an optional /time (default 02:00). */
function tzsetRule(s: string): [TzRule, string] | undefined {
  const rule: TzRule = { kind: 'doy', day: 0, week: 0, mon: 0, time: 7200 };
  let r: [number, string] | undefined;
  if (s[0] === 'J') {
    r = tzsetNum(s.slice(1), 1, 365);
    if (!r) return undefined;
    [rule.kind, rule.day] = ['julian', r[0]];
  } else if (s[0] === 'M') {
    const mon = tzsetNum(s.slice(1), 1, 12);
    const week = mon && mon[1][0] === '.' ? tzsetNum(mon[1].slice(1), 1, 5) : undefined;
    r = week && week[1][0] === '.' ? tzsetNum(week[1].slice(1), 0, 6) : undefined;
    if (!mon || !week || !r) return undefined;
    [rule.kind, rule.mon, rule.week, rule.day] = ['mwd', mon[0], week[0], r[0]];
  } else {
    r = tzsetNum(s, 0, 365);
    if (!r) return undefined;
    rule.day = r[0];
  }
  let rest = r[1];
  if (rest[0] === '/') {
    const t = tzsetOffset(rest.slice(1));
    if (!t) return undefined;
    [rule.time, rest] = t;
  }
  return [rule, rest];
}

/** Go's tzruleTime: seconds from the start of `year` (local standard time `off`) to the rule's instant. */
function tzruleTime(year: number, r: TzRule, off: number): number {
  let d: number;
  if (r.kind === 'julian') d = r.day - 1 + (isLeap(year) && r.day >= 60 ? 1 : 0);
  else if (r.kind === 'doy') d = r.day;
  else {
    // Day of week of the first of the month, then the w-th (or last) weekday d of it.
    const dow = (((daysFromCivil(year, r.mon, 1) + 4) % 7) + 7) % 7;
    let md = r.day - dow;
    if (md < 0) md += 7;
    for (let i = 1; i < r.week && md + 7 < daysIn(r.mon, year); i++) md += 7;
    d = daysFromCivil(year, r.mon, 1) - daysFromCivil(year, 1, 1) + md;
  }
  return d * DAY + r.time - off;
}

/**
 * Go's tzset: the zone name and offset a POSIX TZ string (RFC 8536 §3.3) gives at Unix second `sec`, or
 * undefined when Go cannot read the string (it then keeps the last transition's type).
 */
function tzset(tz: string, sec: number): { name: string; offset: number } | undefined {
  const std = tzsetName(tz);
  const stdOff = std && tzsetOffset(std[1]);
  if (!std || !stdOff) return undefined;
  let rest = stdOff[1];
  const stdZone = { name: std[0], offset: -stdOff[0] };
  if (rest === '' || rest[0] === ',') return stdZone;
  const dst = tzsetName(rest);
  if (!dst) return undefined;
  rest = dst[1];
  let dstOffset = stdZone.offset + 3600;
  if (rest !== '' && rest[0] !== ',') {
    const o = tzsetOffset(rest);
    if (!o) return undefined;
    [dstOffset, rest] = [-o[0], o[1]];
  }
  if (rest === '') rest = ',M3.2.0,M11.1.0'; // tzcode's default rules
  if (rest[0] !== ',' && rest[0] !== ';') return undefined;
  const [startRule, between] = tzsetRule(rest.slice(1)) ?? [undefined, ''];
  if (!startRule || between[0] !== ',') return undefined;
  const [endRule, after] = tzsetRule(between.slice(1)) ?? [undefined, 'x'];
  if (!endRule || after !== '') return undefined;
  const days = Math.floor(sec / DAY);
  const [year] = civilFromDays(days);
  const ysec = sec - daysFromCivil(year, 1, 1) * DAY;
  let zones = [stdZone, { name: dst[0], offset: dstOffset }];
  let startSec = tzruleTime(year, startRule, stdZone.offset);
  let endSec = tzruleTime(year, endRule, dstOffset);
  // Southern hemisphere (or negative DST): the "DST" period wraps the year end.
  if (endSec < startSec) {
    [startSec, endSec] = [endSec, startSec];
    zones = [zones[1]!, zones[0]!];
  }
  return ysec >= startSec && ysec < endSec ? zones[1] : zones[0];
}

/** Go's lookupFirstZone: the type used before the first transition. */
function firstType(z: Tzif): TzType | undefined {
  if (!z.index.includes(0)) return z.types[0];
  const first = z.index[0];
  if (first !== undefined && z.types[first]?.isDst) {
    for (let i = first - 1; i >= 0; i--) if (!z.types[i]!.isDst) return z.types[i];
  }
  return z.types.find((t) => !t.isDst) ?? z.types[0];
}

/** ICU's offset (seconds) at Unix second `sec` and its en-US short zone name. */
function icuZoneAt(id: string, sec: number): { offset: number; name: string } {
  const parts = formatter(id).formatToParts(sec * 1000);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  const year = get('era') === 'BC' ? 1 - Number(get('year')) : Number(get('year'));
  const wall =
    daysFromCivil(year, Number(get('month')), Number(get('day'))) * DAY +
    Number(get('hour')) * 3600 +
    Number(get('minute')) * 60 +
    Number(get('second'));
  return { offset: wall - sec, name: get('timeZoneName') };
}

/**
 * UTC offset (seconds) and zone abbreviation at Unix second `sec`, as Go's Location.lookup finds them: from the
 * system TZif file up to its last transition, then from its POSIX TZ footer rule (Go's tzset). Without a TZif
 * file, ICU alone; `name` is then ICU's en-US short name, which may not be a tz abbreviation (goFormat refuses
 * those).
 */
function zoneAt(zone: Zone, sec: number): { offset: number; name: string } {
  if (zone.utc) return { offset: 0, name: 'UTC' };
  const z = tzif(zone.file ?? `${ZONEINFO}/${zone.id}`);
  if (!z || z.types.length === 0) return icuZoneAt(zone.id, sec);
  if (z.when.length === 0 || sec >= z.when[z.when.length - 1]!) {
    const last = z.when.length === 0 ? firstType(z) : z.types[z.index[z.index.length - 1]!];
    return tzset(z.extend, sec) ?? { offset: last!.offset, name: last!.abbr };
  }
  if (sec < z.when[0]!) {
    const t = firstType(z)!;
    return { offset: t.offset, name: t.abbr };
  }
  let lo = 0;
  let hi = z.when.length;
  while (hi - lo > 1) {
    const m = (lo + hi) >>> 1;
    if (sec < z.when[m]!) hi = m;
    else lo = m;
  }
  const t = z.types[z.index[lo]!]!;
  return { offset: t.offset, name: t.abbr };
}

/** The zone's UTC offset in seconds at Unix second `sec`. */
export const offsetAt = (zone: Zone, sec: number): number => zoneAt(zone, sec).offset;

/** Names Go's LoadLocation can find: it reads the system zoneinfo (else its embedded copy of the same database). */
const ZONEINFO = '/usr/share/zoneinfo';
let icuZones: Set<string> | undefined;

/** The process's local zone (Go's `time.Local`: $TZ, else /etc/localtime; Node resolves it the same way). */
export function localZone(): Zone {
  const icuId = new Intl.DateTimeFormat().resolvedOptions().timeZone;
  const tz = process.env.TZ;
  // Go: TZ unset → /etc/localtime; TZ "" or ":" → UTC; ":x" = "x"; "/path" → that file; else a zone name;
  // whatever cannot be loaded → UTC. Without a system zoneinfo, ICU's idea of the local zone.
  if (!existsSync(ZONEINFO)) return icuId === 'UTC' || icuId === 'Etc/UTC' ? UTC : { utc: false, id: icuId };
  const name = tz?.startsWith(':') ? tz.slice(1) : tz;
  if (name === '' || name === 'UTC') return UTC;
  const file = name === undefined ? '/etc/localtime' : name.startsWith('/') ? name : `${ZONEINFO}/${name}`;
  if (name !== undefined && !name.startsWith('/') && loadZone(name) === undefined) return UTC;
  return tzif(file) ? { utc: false, id: icuId, file } : UTC;
}

/**
 * OPA's zone argument: "" and "UTC" are UTC, "Local" is the local zone, anything else goes through Go's
 * time.LoadLocation, which is case-sensitive and refuses "..", absolute paths and unknown names.
 */
export function loadZone(name: string): Zone | undefined {
  if (name === '' || name === 'UTC') return UTC;
  if (name === 'Local') return localZone();
  if (name.includes('..') || name.startsWith('/') || name.startsWith('\\') || name.includes('\0'))
    return undefined;
  // With a system zoneinfo, Go's answer is the TZif file (which zoneAt reads); without one, ICU's zone list.
  if (existsSync(ZONEINFO)) return tzif(`${ZONEINFO}/${name}`) ? { utc: false, id: name } : undefined;
  icuZones ??= new Set(Intl.supportedValuesOf('timeZone'));
  return icuZones.has(name) ? { utc: false, id: name } : undefined;
}

/** A Go `time.Time` broken down in its zone. */
export interface Civil {
  year: number;
  month: number;
  day: number;
  hour: number;
  min: number;
  sec: number;
  nsec: number;
  /** Day of the year, 1-based. */
  yday: number;
  /** 0 = Sunday. */
  wday: number;
  offset: number;
  /** Zone abbreviation as ICU names it (en-US short), "UTC" for UTC. */
  zoneName: string;
}

/** time.Unix(0, ns).In(zone) broken down; undefined when ICU cannot place the instant. */
export function civil(ns: bigint, zone: Zone): Civil | undefined {
  let s = ns / NS;
  let n = ns % NS;
  if (n < 0n) {
    n += NS;
    s -= 1n;
  }
  const sec = Number(s);
  let z: { offset: number; name: string };
  try {
    z = zoneAt(zone, sec);
  } catch {
    return undefined;
  }
  const local = sec + z.offset;
  const days = Math.floor(local / DAY);
  const tod = local - days * DAY;
  const [year, month, day] = civilFromDays(days);
  return {
    year,
    month,
    day,
    hour: Math.floor(tod / 3600),
    min: Math.floor((tod % 3600) / 60),
    sec: tod % 60,
    nsec: Number(n),
    yday: days - daysFromCivil(year, 1, 1) + 1,
    wday: (((days + 4) % 7) + 7) % 7,
    offset: z.offset,
    zoneName: z.name,
  };
}

/**
 * Go's time.Date(year, month, day, hour, min, sec, nsec, zone) as Unix nanoseconds: month and day overflow
 * normalise, and the wall time resolves in `zone` the way Go does (offset at the wall time read as UTC, corrected
 * once if that lands in another zone period — so skipped times move forward and repeated ones take the first).
 */
export function goDate(
  year: number,
  month: number,
  day: number,
  hour: number,
  min: number,
  sec: number,
  nsec: number,
  zone: Zone,
): bigint | undefined {
  const m0 = month - 1;
  const y = year + Math.floor(m0 / 12);
  const m = m0 - Math.floor(m0 / 12) * 12 + 1;
  const wall = (daysFromCivil(y, m, 1) + day - 1) * DAY + hour * 3600 + min * 60 + sec;
  if (!Number.isSafeInteger(wall)) return undefined;
  let unix = wall;
  try {
    const o1 = offsetAt(zone, wall);
    if (o1 !== 0) unix = wall - offsetAt(zone, wall - o1);
  } catch {
    return undefined;
  }
  return BigInt(unix) * NS + BigInt(nsec);
}

// --- Layouts (Go time/format.go) ---

/** Go's named layouts OPA accepts by name in time.format and time.parse_ns. */
export const NAMED_LAYOUTS: Record<string, string> = {
  ANSIC: 'Mon Jan _2 15:04:05 2006',
  UnixDate: 'Mon Jan _2 15:04:05 MST 2006',
  RubyDate: 'Mon Jan 02 15:04:05 -0700 2006',
  RFC822: '02 Jan 06 15:04 MST',
  RFC822Z: '02 Jan 06 15:04 -0700',
  RFC850: 'Monday, 02-Jan-06 15:04:05 MST',
  RFC1123: 'Mon, 02 Jan 2006 15:04:05 MST',
  RFC1123Z: 'Mon, 02 Jan 2006 15:04:05 -0700',
  RFC3339: '2006-01-02T15:04:05Z07:00',
  RFC3339Nano: '2006-01-02T15:04:05.999999999Z07:00',
};

type Std =
  | 'LongMonth'
  | 'Month'
  | 'NumMonth'
  | 'ZeroMonth'
  | 'LongWeekDay'
  | 'WeekDay'
  | 'Day'
  | 'UnderDay'
  | 'ZeroDay'
  | 'UnderYearDay'
  | 'ZeroYearDay'
  | 'Hour'
  | 'Hour12'
  | 'ZeroHour12'
  | 'Minute'
  | 'ZeroMinute'
  | 'Second'
  | 'ZeroSecond'
  | 'LongYear'
  | 'Year'
  | 'PM'
  | 'pm'
  | 'TZ'
  | 'ISO8601TZ'
  | 'ISO8601SecondsTZ'
  | 'ISO8601ShortTZ'
  | 'ISO8601ColonTZ'
  | 'ISO8601ColonSecondsTZ'
  | 'NumTZ'
  | 'NumSecondsTz'
  | 'NumShortTZ'
  | 'NumColonTZ'
  | 'NumColonSecondsTZ'
  | 'FracSecond0'
  | 'FracSecond9';

/** One layout element: the literal before it, the element, and for fractions its digit count and separator. */
interface Chunk {
  prefix: string;
  std?: Std;
  digits: number;
  sep: string;
  suffix: string;
}

const ZERO_X: Std[] = ['ZeroMonth', 'ZeroDay', 'ZeroHour12', 'ZeroMinute', 'ZeroSecond', 'Year'];
const isDigitAt = (s: string, i: number) => i < s.length && s[i]! >= '0' && s[i]! <= '9';
const startsLower = (s: string) => s.length > 0 && s[0]! >= 'a' && s[0]! <= 'z';

/** Go's nextStdChunk: the first layout element in `layout` (std undefined when there is none). */
function nextStdChunk(layout: string): Chunk {
  const at = (i: number, std: Std, len: number, digits = 0, sep = ''): Chunk => ({
    prefix: layout.slice(0, i),
    std,
    digits,
    sep,
    suffix: layout.slice(i + len),
  });
  const has = (i: number, s: string) => layout.startsWith(s, i);
  for (let i = 0; i < layout.length; i++) {
    const c = layout[i]!;
    switch (c) {
      case 'J':
        if (has(i, 'Jan')) {
          if (has(i, 'January')) return at(i, 'LongMonth', 7);
          if (!startsLower(layout.slice(i + 3))) return at(i, 'Month', 3);
        }
        break;
      case 'M':
        if (has(i, 'Mon')) {
          if (has(i, 'Monday')) return at(i, 'LongWeekDay', 6);
          if (!startsLower(layout.slice(i + 3))) return at(i, 'WeekDay', 3);
        }
        if (has(i, 'MST')) return at(i, 'TZ', 3);
        break;
      case '0':
        if (i + 1 < layout.length && layout[i + 1]! >= '1' && layout[i + 1]! <= '6')
          return at(i, ZERO_X[layout.charCodeAt(i + 1) - 49]!, 2);
        if (has(i, '002')) return at(i, 'ZeroYearDay', 3);
        break;
      case '1':
        return has(i, '15') ? at(i, 'Hour', 2) : at(i, 'NumMonth', 1);
      case '2':
        return has(i, '2006') ? at(i, 'LongYear', 4) : at(i, 'Day', 1);
      case '_':
        if (layout[i + 1] === '2') {
          // "_2006" is a literal "_" followed by the long year.
          if (has(i + 1, '2006')) return at(i + 1, 'LongYear', 4);
          return at(i, 'UnderDay', 2);
        }
        if (has(i, '__2')) return at(i, 'UnderYearDay', 3);
        break;
      case '3':
        return at(i, 'Hour12', 1);
      case '4':
        return at(i, 'Minute', 1);
      case '5':
        return at(i, 'Second', 1);
      case 'P':
        if (layout[i + 1] === 'M') return at(i, 'PM', 2);
        break;
      case 'p':
        if (layout[i + 1] === 'm') return at(i, 'pm', 2);
        break;
      case '-':
        if (has(i, '-070000')) return at(i, 'NumSecondsTz', 7);
        if (has(i, '-07:00:00')) return at(i, 'NumColonSecondsTZ', 9);
        if (has(i, '-0700')) return at(i, 'NumTZ', 5);
        if (has(i, '-07:00')) return at(i, 'NumColonTZ', 6);
        if (has(i, '-07')) return at(i, 'NumShortTZ', 3);
        break;
      case 'Z':
        if (has(i, 'Z070000')) return at(i, 'ISO8601SecondsTZ', 7);
        if (has(i, 'Z07:00:00')) return at(i, 'ISO8601ColonSecondsTZ', 9);
        if (has(i, 'Z0700')) return at(i, 'ISO8601TZ', 5);
        if (has(i, 'Z07:00')) return at(i, 'ISO8601ColonTZ', 6);
        if (has(i, 'Z07')) return at(i, 'ISO8601ShortTZ', 3);
        break;
      case '.':
      case ',':
        if (layout[i + 1] === '0' || layout[i + 1] === '9') {
          const ch = layout[i + 1]!;
          let j = i + 1;
          while (j < layout.length && layout[j] === ch) j++;
          if (!isDigitAt(layout, j))
            return at(i, ch === '0' ? 'FracSecond0' : 'FracSecond9', j - i, j - (i + 1), c);
        }
        break;
    }
  }
  return { prefix: layout, digits: 0, sep: '', suffix: '' };
}

const LONG_MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const LONG_DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const short = (names: string[]) => names.map((n) => n.slice(0, 3));
export const WEEKDAYS = LONG_DAYS;

/** Go's appendInt: optional '-', then |x| zero-padded to `width`. */
function pad(x: number, width: number): string {
  const s = String(Math.abs(x)).padStart(width, '0');
  return x < 0 ? `-${s}` : s;
}

/** Bytes of a JS string as a latin1 string (one char per UTF-8 byte), and back. */
const toBytes = (s: string) => Buffer.from(s, 'utf8').toString('latin1');
const fromBytes = (b: string) => Buffer.from(b, 'latin1').toString('utf8');

/** The ISO 8601 / numeric zone forms of Go's appendFormat. */
function formatOffset(std: Std, offset: number): string {
  if (offset === 0 && std.startsWith('ISO8601')) return 'Z';
  let zone = Math.trunc(offset / 60);
  let abs = offset;
  let out = '+';
  if (zone < 0) {
    out = '-';
    zone = -zone;
    abs = -abs;
  }
  out += pad(Math.floor(zone / 60), 2);
  const colon = std.includes('Colon');
  if (colon) out += ':';
  if (!std.includes('Short')) out += pad(zone % 60, 2);
  if (std.includes('Seconds')) {
    if (colon) out += ':';
    out += pad(abs % 60, 2);
  }
  return out;
}

/**
 * Go's Time.Format(layout) for a broken-down time; undefined only for `MST` when ICU has no abbreviation of the
 * kind Go's tz database uses (ICU writes e.g. "GMT+1" where Go writes "CET"), so SIGIL refuses rather than differ.
 */
export function goFormat(t: Civil, layout: string): string | undefined {
  let rest = toBytes(layout);
  let out = '';
  while (rest !== '') {
    const c = nextStdChunk(rest);
    out += c.prefix;
    if (!c.std) break;
    rest = c.suffix;
    const hr12 = t.hour % 12 === 0 ? 12 : t.hour % 12;
    switch (c.std) {
      case 'Year':
        out += pad(t.year % 100, 2);
        break;
      case 'LongYear':
        out += pad(t.year, 4);
        break;
      case 'Month':
        out += short(LONG_MONTHS)[t.month - 1];
        break;
      case 'LongMonth':
        out += LONG_MONTHS[t.month - 1];
        break;
      case 'NumMonth':
        out += String(t.month);
        break;
      case 'ZeroMonth':
        out += pad(t.month, 2);
        break;
      case 'WeekDay':
        out += short(LONG_DAYS)[t.wday];
        break;
      case 'LongWeekDay':
        out += LONG_DAYS[t.wday];
        break;
      case 'Day':
        out += String(t.day);
        break;
      case 'UnderDay':
        out += (t.day < 10 ? ' ' : '') + String(t.day);
        break;
      case 'ZeroDay':
        out += pad(t.day, 2);
        break;
      case 'UnderYearDay':
        out += String(t.yday).padStart(3, ' ');
        break;
      case 'ZeroYearDay':
        out += pad(t.yday, 3);
        break;
      case 'Hour':
        out += pad(t.hour, 2);
        break;
      case 'Hour12':
        out += String(hr12);
        break;
      case 'ZeroHour12':
        out += pad(hr12, 2);
        break;
      case 'Minute':
        out += String(t.min);
        break;
      case 'ZeroMinute':
        out += pad(t.min, 2);
        break;
      case 'Second':
        out += String(t.sec);
        break;
      case 'ZeroSecond':
        out += pad(t.sec, 2);
        break;
      case 'PM':
        out += t.hour >= 12 ? 'PM' : 'AM';
        break;
      case 'pm':
        out += t.hour >= 12 ? 'pm' : 'am';
        break;
      case 'TZ': {
        // Go prints the tz database abbreviation (read from the TZif file); without one SIGIL refuses.
        if (t.zoneName === '' || /^GMT[-+]/.test(t.zoneName)) return undefined;
        out += t.zoneName;
        break;
      }
      case 'FracSecond0':
      case 'FracSecond9': {
        const trim = c.std === 'FracSecond9';
        if (trim && (c.digits === 0 || t.nsec === 0)) break;
        let frac = pad(t.nsec, 9).slice(0, Math.min(c.digits, 9)); // Go prints at most 9 digits
        if (trim) frac = frac.replace(/0+$/, '');
        out += frac === '' ? '' : c.sep + frac;
        break;
      }
      default:
        out += formatOffset(c.std, t.offset);
    }
  }
  return fromBytes(out);
}

/** Go's leadingInt over bytes: [value, rest], undefined on int64 overflow. */
function leadingInt(s: string): [bigint, string] | undefined {
  let i = 0;
  let x = 0n;
  for (; i < s.length && s[i]! >= '0' && s[i]! <= '9'; i++) {
    if (x > 2n ** 63n / 10n) return undefined;
    x = x * 10n + BigInt(s.charCodeAt(i) - 48);
    if (x > 2n ** 63n) return undefined;
  }
  return [x, s.slice(i)];
}

/** Go's atoi (time package): optional sign, digits, nothing else; "" is 0. */
function atoi(s: string): number | undefined {
  let neg = false;
  let t = s;
  if (t[0] === '-' || t[0] === '+') {
    neg = t[0] === '-';
    t = t.slice(1);
  }
  const [x0, rest] = leadingInt(t) ?? [0n, 'overflow'];
  if (rest !== '') return undefined;
  const x = Number(x0);
  return neg ? -x : x;
}

/** Go's getnum: one or two digits (exactly two when fixed). */
function getnum(s: string, fixed: boolean): [number, string] | undefined {
  if (!isDigitAt(s, 0)) return undefined;
  if (!isDigitAt(s, 1)) return fixed ? undefined : [s.charCodeAt(0) - 48, s.slice(1)];
  return [(s.charCodeAt(0) - 48) * 10 + s.charCodeAt(1) - 48, s.slice(2)];
}

/** Go's getnum3: one to three digits (exactly three when fixed). */
function getnum3(s: string, fixed: boolean): [number, string] | undefined {
  let n = 0;
  let i = 0;
  for (; i < 3 && isDigitAt(s, i); i++) n = n * 10 + s.charCodeAt(i) - 48;
  if (i === 0 || (fixed && i !== 3)) return undefined;
  return [n, s.slice(i)];
}

/** Go's lookup: case-insensitive (ASCII letters only) prefix match against a name table. */
function lookupName(tab: string[], val: string): [number, string] | undefined {
  for (const [i, v] of tab.entries()) {
    if (val.length < v.length) continue;
    let ok = true;
    for (let k = 0; k < v.length && ok; k++) {
      const a = val.charCodeAt(k);
      const b = v.charCodeAt(k);
      if (a !== b) {
        const la = a | 0x20;
        ok = la === (b | 0x20) && la >= 97 && la <= 122;
      }
    }
    if (ok) return [i, val.slice(v.length)];
  }
  return undefined;
}

const cutspace = (s: string) => s.replace(/^ +/, '');

/** Go's skip: match the literal `prefix`, where a run of spaces matches any run of spaces. */
function skip(value: string, prefix: string): string | undefined {
  let v = value;
  let p = prefix;
  while (p.length > 0) {
    if (p[0] === ' ') {
      if (v.length > 0 && v[0] !== ' ') return undefined;
      p = cutspace(p);
      v = cutspace(v);
      continue;
    }
    if (v.length === 0 || v[0] !== p[0]) return undefined;
    p = p.slice(1);
    v = v.slice(1);
  }
  return v;
}

/** Go's parseNanoseconds: `value[0]` is the separator; at most 9 digits count. */
function parseNanoseconds(value: string, nbytes: number): number | undefined {
  if (value[0] !== '.' && value[0] !== ',') return undefined;
  const n = Math.min(nbytes, 10);
  const ns = atoi(value.slice(1, n));
  if (ns === undefined || ns < 0) return undefined;
  return ns * 10 ** (10 - n);
}

/** Go's parseSignedOffset: length of a "+h"/"-hh" offset (hours ≤ 12), 0 if none. */
function parseSignedOffset(value: string): number {
  if (value[0] !== '-' && value[0] !== '+') return 0;
  const r = leadingInt(value.slice(1));
  if (!r || r[1] === value.slice(1) || r[0] > 12n) return 0;
  return value.length - r[1].length;
}

/** Go's parseTimeZone: length of a zone abbreviation at the start of `value`, undefined if none. */
function parseTimeZone(value: string): number | undefined {
  if (value.length < 3) return undefined;
  if (value.startsWith('ChST') || value.startsWith('MeST')) return 4;
  if (value.startsWith('GMT')) return value.length === 3 ? 3 : 3 + parseSignedOffset(value.slice(3));
  if (value[0] === '+' || value[0] === '-') {
    const n = parseSignedOffset(value);
    return n > 0 ? n : undefined;
  }
  let upper = 0;
  while (upper < 6 && upper < value.length && value[upper]! >= 'A' && value[upper]! <= 'Z') upper++;
  if (upper === 3) return 3;
  if (upper === 4 && (value[3] === 'T' || value.startsWith('WITA'))) return 4;
  if (upper === 5 && value[4] === 'T') return 5;
  return undefined;
}

const NUMERIC_TZ: Record<string, [number, number[]]> = {
  // std → [bytes consumed, positions of hh, mm, ss (−1 = "00")], plus required ':' positions below.
  ISO8601ColonTZ: [6, [1, 4, -1]],
  NumColonTZ: [6, [1, 4, -1]],
  ISO8601ShortTZ: [3, [1, -1, -1]],
  NumShortTZ: [3, [1, -1, -1]],
  ISO8601ColonSecondsTZ: [9, [1, 4, 7]],
  NumColonSecondsTZ: [9, [1, 4, 7]],
  ISO8601SecondsTZ: [7, [1, 3, 5]],
  NumSecondsTz: [7, [1, 3, 5]],
  ISO8601TZ: [5, [1, 3, -1]],
  NumTZ: [5, [1, 3, -1]],
};

/**
 * Go's Location.lookupName: the offset of a zone abbreviation of `local` — preferring one in effect at `unix`
 * (read as local wall time) — or undefined when `local` has no such abbreviation (Go then leaves the wall time as
 * UTC); null when `local` has no TZif data (ICU does not list abbreviations, so SIGIL refuses).
 */
function zoneOffsetByName(
  local: Zone & { utc: false },
  name: string,
  unix: number,
): number | undefined | null {
  const z = tzif(local.file ?? `${ZONEINFO}/${local.id}`);
  if (!z) return null;
  for (const t of z.types)
    if (t.abbr === name && zoneAt(local, unix - t.offset).name === name)
      return zoneAt(local, unix - t.offset).offset;
  return z.types.find((t) => t.abbr === name)?.offset;
}

/**
 * Go's time.Parse(layout, value) as Unix nanoseconds (default zone UTC). `local` is Go's time.Local, against
 * which a zone abbreviation (`MST`) is resolved.
 */
export function goParse(layout: string, value: string, local: Zone): bigint | undefined {
  let lay = toBytes(layout);
  let val = toBytes(value);
  let year = 0;
  let month = -1;
  let day = -1;
  let yday = -1;
  let hour = 0;
  let min = 0;
  let sec = 0;
  let nsec = 0;
  let utc = false;
  let zoneOffset = -1;
  let zoneName = '';
  let amSet = false;
  let pmSet = false;
  for (;;) {
    const c = nextStdChunk(lay);
    const v = skip(val, c.prefix);
    if (v === undefined) return undefined;
    val = v;
    if (!c.std) {
      if (val.length !== 0) return undefined;
      break;
    }
    lay = c.suffix;
    let bad = false;
    let range = false;
    const num = (r: [number, string] | undefined): number => {
      if (!r) {
        bad = true;
        return 0;
      }
      val = r[1];
      return r[0];
    };
    switch (c.std) {
      case 'Year': {
        if (val.length < 2) return undefined;
        const y = atoi(val.slice(0, 2));
        val = val.slice(2);
        if (y === undefined) return undefined;
        year = y >= 69 ? y + 1900 : y + 2000;
        break;
      }
      case 'LongYear': {
        if (val.length < 4 || !isDigitAt(val, 0)) return undefined;
        const y = atoi(val.slice(0, 4));
        val = val.slice(4);
        if (y === undefined) return undefined;
        year = y;
        break;
      }
      case 'Month':
        month = num(lookupName(short(LONG_MONTHS), val)) + 1;
        break;
      case 'LongMonth':
        month = num(lookupName(LONG_MONTHS, val)) + 1;
        break;
      case 'NumMonth':
      case 'ZeroMonth':
        month = num(getnum(val, c.std === 'ZeroMonth'));
        if (!bad && (month <= 0 || month > 12)) range = true;
        break;
      case 'WeekDay':
        num(lookupName(short(LONG_DAYS), val));
        break;
      case 'LongWeekDay':
        num(lookupName(LONG_DAYS, val));
        break;
      case 'Day':
      case 'UnderDay':
      case 'ZeroDay':
        if (c.std === 'UnderDay' && val[0] === ' ') val = val.slice(1);
        day = num(getnum(val, c.std === 'ZeroDay'));
        break;
      case 'UnderYearDay':
      case 'ZeroYearDay':
        for (let i = 0; i < 2; i++) if (c.std === 'UnderYearDay' && val[0] === ' ') val = val.slice(1);
        yday = num(getnum3(val, c.std === 'ZeroYearDay'));
        break;
      case 'Hour':
        hour = num(getnum(val, false));
        if (hour >= 24) range = true;
        break;
      case 'Hour12':
      case 'ZeroHour12':
        hour = num(getnum(val, c.std === 'ZeroHour12'));
        if (hour > 12) range = true;
        break;
      case 'Minute':
      case 'ZeroMinute':
        min = num(getnum(val, c.std === 'ZeroMinute'));
        if (min >= 60) range = true;
        break;
      case 'Second':
      case 'ZeroSecond': {
        sec = num(getnum(val, c.std === 'ZeroSecond'));
        if (bad) break;
        if (sec >= 60) {
          range = true;
          break;
        }
        // A fraction in the value but not in the layout is still read (Go's special case).
        if (val.length >= 2 && (val[0] === '.' || val[0] === ',') && isDigitAt(val, 1)) {
          const next = nextStdChunk(lay).std;
          if (next === 'FracSecond0' || next === 'FracSecond9') break;
          let n = 2;
          while (isDigitAt(val, n)) n++;
          const ns = parseNanoseconds(val, n);
          if (ns === undefined) return undefined;
          nsec = ns;
          val = val.slice(n);
        }
        break;
      }
      case 'PM':
      case 'pm': {
        if (val.length < 2) return undefined;
        const p = val.slice(0, 2);
        val = val.slice(2);
        const [pm, am] = c.std === 'PM' ? ['PM', 'AM'] : ['pm', 'am'];
        if (p === pm) pmSet = true;
        else if (p === am) amSet = true;
        else return undefined;
        break;
      }
      case 'TZ': {
        if (val.startsWith('UTC')) {
          utc = true;
          val = val.slice(3);
          break;
        }
        const n = parseTimeZone(val);
        if (n === undefined) return undefined;
        zoneName = val.slice(0, n);
        val = val.slice(n);
        break;
      }
      case 'FracSecond0': {
        const n = 1 + c.digits;
        if (val.length < n) return undefined;
        const ns = parseNanoseconds(val, n);
        if (ns === undefined) return undefined;
        nsec = ns;
        val = val.slice(n);
        break;
      }
      case 'FracSecond9': {
        if (val.length < 2 || (val[0] !== '.' && val[0] !== ',') || !isDigitAt(val, 1)) break;
        let i = 0;
        while (isDigitAt(val, i + 1)) i++;
        const ns = parseNanoseconds(val, 1 + i);
        if (ns === undefined) return undefined;
        nsec = ns;
        val = val.slice(1 + i);
        break;
      }
      default: {
        if (c.std.startsWith('ISO8601') && val[0] === 'Z') {
          val = val.slice(1);
          utc = true;
          break;
        }
        const [len, [h, m, s]] = NUMERIC_TZ[c.std]!;
        if (val.length < len) return undefined;
        if (c.std.includes('Colon') && (val[3] !== ':' || (c.std.includes('Seconds') && val[6] !== ':')))
          return undefined;
        const two = (i: number) => (i < 0 ? 0 : getnum(val.slice(i, i + 2), true)?.[0]);
        const [hr, mm, ss] = [two(h!), two(m!), two(s!)];
        const sign = val[0];
        val = val.slice(len);
        if (hr === undefined || mm === undefined || ss === undefined) return undefined;
        // Go accepts offsets up to 24:60:60 (some people write 24 hours or 60 minutes).
        if (hr > 24 || mm > 60 || ss > 60) return undefined;
        zoneOffset = (hr * 60 + mm) * 60 + ss;
        if (sign === '-') zoneOffset = -zoneOffset;
        else if (sign !== '+') return undefined;
      }
    }
    if (range || bad) return undefined;
  }
  if (pmSet && hour < 12) hour += 12;
  else if (amSet && hour === 12) hour = 0;

  if (yday >= 0) {
    let d = 0;
    let m = 0;
    let yd = yday;
    if (isLeap(year)) {
      if (yd === 31 + 29) {
        m = 2;
        d = 29;
      } else if (yd > 31 + 29) yd--;
    }
    if (yd < 1 || yd > 365) return undefined;
    if (m === 0) {
      const before = (mo: number) => daysFromCivil(2001, mo, 1) - daysFromCivil(2001, 1, 1);
      m = Math.floor((yd - 1) / 31) + 1;
      if (before(m + 1) < yd) m++;
      d = yd - before(m);
    }
    if (month >= 0 && month !== m) return undefined;
    month = m;
    if (day >= 0 && day !== d) return undefined;
    day = d;
  } else {
    if (month < 0) month = 1;
    if (day < 0) day = 1;
  }
  if (day < 1 || day > daysIn(month, year)) return undefined;

  const wall =
    BigInt(daysFromCivil(year, month, day) * DAY + hour * 3600 + min * 60 + sec) * NS + BigInt(nsec);
  if (utc) return wall;
  if (zoneOffset !== -1) return wall - BigInt(zoneOffset) * NS;
  if (zoneName !== '') {
    if (local.utc) return wall; // Go's UTC has no named zones: the wall time stays UTC
    const off = zoneOffsetByName(local, zoneName, Number(wall / NS));
    return off === null ? undefined : wall - BigInt(off ?? 0) * NS;
  }
  return wall;
}

const UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1000n,
  [toBytes('µs')]: 1000n, // U+00B5 micro sign
  [toBytes('μs')]: 1000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: NS,
  m: 60n * NS,
  h: 3600n * NS,
  // OPA extends Go's units with days, weeks and 365-day years (observed in opa 1.22: "1y" = 8760h).
  d: 86_400n * NS,
  w: 7n * 86_400n * NS,
  y: 365n * 86_400n * NS,
};

/**
 * Go's time.ParseDuration (`[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+` → int64 nanoseconds) with OPA's extra units d, w,
 * y; undefined when invalid or out of range.
 */
export function goParseDuration(input: string): bigint | undefined {
  let s = toBytes(input);
  let neg = false;
  if (s[0] === '-' || s[0] === '+') {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') return undefined;
  const LIMIT = 2n ** 63n;
  let d = 0n;
  while (s !== '') {
    if (!(s[0] === '.' || isDigitAt(s, 0))) return undefined;
    const lead = leadingInt(s);
    if (!lead) return undefined;
    let v = lead[0];
    const pre = lead[1].length !== s.length;
    s = lead[1];
    let f = 0n;
    let scale = 1;
    let post = false;
    if (s[0] === '.') {
      s = s.slice(1);
      const before = s.length;
      // Go's leadingFraction: stops gaining precision (but keeps consuming) once it would overflow.
      let overflow = false;
      let i = 0;
      for (; isDigitAt(s, i); i++) {
        if (overflow) continue;
        if (f > (LIMIT - 1n) / 10n) {
          overflow = true;
          continue;
        }
        const y = f * 10n + BigInt(s.charCodeAt(i) - 48);
        if (y > LIMIT) {
          overflow = true;
          continue;
        }
        f = y;
        scale *= 10;
      }
      s = s.slice(i);
      post = s.length !== before;
    }
    if (!pre && !post) return undefined;
    let i = 0;
    while (i < s.length && s[i] !== '.' && !isDigitAt(s, i)) i++;
    if (i === 0) return undefined;
    const unit = UNITS[s.slice(0, i)];
    s = s.slice(i);
    if (unit === undefined) return undefined;
    if (v > LIMIT / unit) return undefined;
    v *= unit;
    if (f > 0n) {
      // Go computes the fraction in float64 (nanosecond-exact for fractions of an hour) and truncates.
      v += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
      if (v > LIMIT) return undefined;
    }
    d += v;
    if (d > LIMIT) return undefined;
  }
  if (neg) return -d;
  if (d > LIMIT - 1n) return undefined;
  return d;
}
