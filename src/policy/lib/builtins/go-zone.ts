/**
 * Go's time zones and calendar as OPA's time builtins see them (topdown/time.go calls Go's time package):
 * proleptic Gregorian arithmetic, time.Date normalisation, and Location lookups from the same TZif files Go reads
 * (RFC 8536; POSIX TZ footer rules after the last transition), with ICU (`Intl`) only as a fallback on hosts
 * without /usr/share/zoneinfo.
 */
import { existsSync, readFileSync } from 'node:fs';

/** Seconds in a day. */
export const DAY = 86_400;
export const NS = 1_000_000_000n;
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

export const isLeap = (y: number) => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
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

/**
 * Go's Location.lookupName: the offset of a zone abbreviation of `local` — preferring one in effect at `unix`
 * (read as local wall time) — or undefined when `local` has no such abbreviation (Go then leaves the wall time as
 * UTC); null when `local` has no TZif data (ICU does not list abbreviations, so SIGIL refuses).
 */
export function zoneOffsetByName(
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
