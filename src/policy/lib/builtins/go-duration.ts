/**
 * Go's time.ParseDuration as OPA's time.parse_duration_ns applies it (with OPA's extra units).
 */
import { isDigitAt, leadingInt, toBytes } from './go-layout.js';
import { NS } from './go-zone.js';

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
