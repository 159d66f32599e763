/**
 * OPA's time builtins (topdown/time.go) as host functions: time.clock, time.date, time.weekday, time.format,
 * time.add_date, time.diff, time.parse_ns, time.parse_rfc3339_ns, time.parse_duration_ns. Times are int64 Unix
 * nanoseconds, or `[ns, zone]` / `[ns, zone, layout]` where zone is an IANA name, "UTC"/"" or "Local". Like OPA
 * in its default mode, a bad argument makes the call undefined.
 */
import { goParseDuration } from './go-duration.js';
import { goFormat, goParse, NAMED_LAYOUTS, WEEKDAYS } from './go-layout.js';
import { type Civil, civil, goDate, loadZone, localZone, MAX_NS, MIN_NS, UTC, type Zone } from './go-zone.js';
import { argTexts, type HostBuiltin, rawJson } from './host.js';

const INT = /^-?\d+$/;

/**
 * The exact int64 a numeric argument holds. opa-wasm rounds numbers above 2^53 to doubles; `text` (the JSON text
 * opa-wasm parsed, see host.ts) restores the digits when it agrees with the rounded value. OPA itself refuses a
 * non-integer or out-of-range timestamp ("timestamp too big").
 */
function exactInt(v: unknown, text: string | undefined): bigint | undefined {
  if (typeof v !== 'number' || !Number.isInteger(v)) return undefined;
  const n = text !== undefined && INT.test(text) && Number(text) === v ? BigInt(text) : BigInt(v);
  return n >= MIN_NS && n <= MAX_NS ? n : undefined;
}

/** OPA's tzTime: a number (UTC) or [ns, zone?, layout?]. */
function timeArg(
  v: unknown,
  text: string | undefined,
): { ns: bigint; zone: Zone; layout: string } | undefined {
  if (typeof v === 'number') {
    const ns = exactInt(v, text);
    return ns === undefined ? undefined : { ns, zone: UTC, layout: '' };
  }
  if (!Array.isArray(v) || v.length === 0) return undefined;
  const first = text === undefined ? undefined : /^\[(-?\d+)[,\]]/.exec(text)?.[1];
  const ns = exactInt(v[0], first);
  if (ns === undefined) return undefined;
  let zone: Zone | undefined = UTC;
  if (v.length > 1) {
    if (typeof v[1] !== 'string') return undefined;
    zone = loadZone(v[1]);
    if (!zone) return undefined;
  }
  let layout = '';
  if (v.length > 2) {
    if (typeof v[2] !== 'string') return undefined;
    layout = v[2];
  }
  return { ns, zone, layout };
}

/** An integer operand (OPA's IntOperand parses the number's text as an int, so 1.0 is refused). */
function intArg(v: unknown, text: string | undefined): number | undefined {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) return undefined;
  return text !== undefined && !INT.test(text) ? undefined : v;
}

/** A builtin over `n` arguments that gets each argument's JSON text too. */
const withTexts =
  (f: (args: unknown[], texts: (string | undefined)[]) => unknown): HostBuiltin =>
  (...args) => {
    const texts = argTexts(args.length) ?? [];
    return f(args, texts);
  };

/** A builtin over one time argument, broken down in its zone. */
const onTime = (f: (t: Civil, layout: string) => unknown): HostBuiltin =>
  withTexts(([a], [ta]) => {
    const t = timeArg(a, ta);
    const c = t && civil(t.ns, t.zone);
    return c ? f(c, t.layout) : undefined;
  });

/** Unix nanoseconds as exact JSON, if inside OPA's int64 range ("time outside of valid range"). */
const nsResult = (ns: bigint | undefined) =>
  ns !== undefined && ns >= MIN_NS && ns <= MAX_NS ? rawJson(ns.toString()) : undefined;

/** Go's Time.Sub broken into calendar units, as OPA's time.diff does (icza/gox algorithm). */
function diff(a: { ns: bigint; zone: Zone }, b: { ns: bigint; zone: Zone }): number[] | undefined {
  // Both are read in the first time's zone; order does not matter.
  const [lo, hi] = a.ns > b.ns ? [b.ns, a.ns] : [a.ns, b.ns];
  const t1 = civil(lo, a.zone);
  const t2 = civil(hi, a.zone);
  if (!t1 || !t2) return undefined;
  let year = t2.year - t1.year;
  let month = t2.month - t1.month;
  let day = t2.day - t1.day;
  let hour = t2.hour - t1.hour;
  let min = t2.min - t1.min;
  let sec = t2.sec - t1.sec;
  if (sec < 0) {
    sec += 60;
    min--;
  }
  if (min < 0) {
    min += 60;
    hour--;
  }
  if (hour < 0) {
    hour += 24;
    day--;
  }
  if (day < 0) {
    // Days in t1's month, as Go computes it: 32 minus the day that "day 32" normalises to.
    const [, , d32] = dateOf(goDate(t1.year, t1.month, 32, 0, 0, 0, 0, UTC)!);
    day += 32 - d32;
    month--;
  }
  if (month < 0) {
    month += 12;
    year--;
  }
  return [year, month, day, hour, min, sec];
}

const dateOf = (ns: bigint): [number, number, number] => {
  const c = civil(ns, UTC)!;
  return [c.year, c.month, c.day];
};

const layoutOf = (l: string) => NAMED_LAYOUTS[l] ?? l;

/** The time builtins. */
export function timeBuiltins(): Record<string, HostBuiltin> {
  return {
    'time.clock': onTime((t) => [t.hour, t.min, t.sec]),
    'time.date': onTime((t) => [t.year, t.month, t.day]),
    'time.weekday': onTime((t) => WEEKDAYS[t.wday]),
    // Default layout RFC3339Nano; Go's layout names (RFC3339, ANSIC, ...) are accepted by name.
    'time.format': onTime((t, layout) =>
      goFormat(t, layout === '' ? NAMED_LAYOUTS.RFC3339Nano! : layoutOf(layout)),
    ),
    'time.add_date': withTexts(([a, y, m, d], [ta, ty, tm, td]) => {
      const t = timeArg(a, ta);
      const years = intArg(y, ty);
      const months = intArg(m, tm);
      const days = intArg(d, td);
      if (!t || years === undefined || months === undefined || days === undefined) return undefined;
      const c = civil(t.ns, t.zone);
      if (!c) return undefined;
      return nsResult(
        goDate(c.year + years, c.month + months, c.day + days, c.hour, c.min, c.sec, c.nsec, t.zone),
      );
    }),
    'time.diff': withTexts(([a, b], [ta, tb]) => {
      const t1 = timeArg(a, ta);
      const t2 = timeArg(b, tb);
      return t1 && t2 ? diff(t1, t2) : undefined;
    }),
    'time.parse_ns': (layout: unknown, value: unknown) =>
      typeof layout === 'string' && typeof value === 'string'
        ? nsResult(goParse(layoutOf(layout), value, localZone()))
        : undefined,
    // Go's time.Parse(time.RFC3339, s): RFC 3339 §5.6 plus Go's own leniencies (1-digit hour, ',' fraction,
    // offsets up to 24:60) and strictness (upper-case 'T' and 'Z' only).
    'time.parse_rfc3339_ns': (value: unknown) =>
      typeof value === 'string' ? nsResult(goParse(NAMED_LAYOUTS.RFC3339!, value, localZone())) : undefined,
    'time.parse_duration_ns': (s: unknown) =>
      typeof s === 'string' ? nsResult(goParseDuration(s)) : undefined,
  };
}
