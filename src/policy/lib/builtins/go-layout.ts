/**
 * Go's time.Format and time.Parse layouts (time/format.go) as OPA's time.format and time.parse_ns apply them.
 * Strings are processed as bytes (UTF-8 read as latin1), as Go does, so lengths match.
 */
import {
  type Civil,
  DAY,
  daysFromCivil,
  daysIn,
  isLeap,
  NS,
  type Zone,
  zoneOffsetByName,
} from './go-zone.js';

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
export const isDigitAt = (s: string, i: number) => i < s.length && s[i]! >= '0' && s[i]! <= '9';
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
export const toBytes = (s: string) => Buffer.from(s, 'utf8').toString('latin1');
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
export function leadingInt(s: string): [bigint, string] | undefined {
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
