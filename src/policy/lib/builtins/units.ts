/**
 * units.parse_bytes and units.parse host builtins (OPA topdown/parse_bytes.go, parse_units.go), with OPA's
 * arithmetic: parse_bytes multiplies in Go big.Float at 64-bit precision and truncates; units.parse multiplies
 * exactly (big.Rat, with milli as the float64 nearest 0.001) and prints a non-integer with 10 decimals.
 */
import { floatParts } from './go-value.js';
import { type HostBuiltin, rawJson } from './host.js';

/** An exact rational p/q, q > 0. */
interface Rat {
  p: bigint;
  q: bigint;
}

/** Exponents beyond this (OPA allows 6 digits) are refused rather than expanded into megabyte numbers. */
const MAX_EXPONENT = 4096;

/** Go's number/unit split: the number is the leading run of digits, '.', signs and well-formed exponents. */
function split(s: string): { num: string; unit: string } | undefined {
  const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
  let i = 0;
  for (; i < s.length; i++) {
    const c = s[i]!;
    if (isDigit(c) || c === '.' || c === '+' || c === '-') continue;
    if (c !== 'e' && c !== 'E') break;
    const next = s[i + 1];
    if (!isDigit(next) && next !== '+' && next !== '-') break;
    if (next === '+' || next === '-') i++;
    let end = i + 1;
    while (isDigit(s[end])) end++;
    if (end - (i + 1) > 6) return undefined; // "exponent too large"
  }
  return { num: s.slice(0, i), unit: s.slice(i) };
}

/** A decimal literal as Go's big.Rat/big.Float SetString read it (sign, digits, point, exponent). */
function parseDecimal(s: string): Rat | undefined {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(s);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return undefined;
  const exp = Number(m[4] ?? '0') - (m[3] ?? '').length;
  if (Math.abs(exp) > MAX_EXPONENT) return undefined;
  let p = BigInt(`${m[2]}${m[3] ?? ''}` || '0');
  if (m[1] === '-') p = -p;
  return exp >= 0 ? { p: p * 10n ** BigInt(exp), q: 1n } : { p, q: 10n ** BigInt(-exp) };
}

const bitLength = (n: bigint): number => (n === 0n ? 0 : n.toString(2).length);

/** |r| rounded to a 64-bit mantissa (round half to even, as big.Float): m·2^e. */
function toFloat64Prec(r: Rat): { neg: boolean; m: bigint; e: number } {
  const neg = r.p < 0n;
  const p = neg ? -r.p : r.p;
  if (p === 0n) return { neg, m: 0n, e: 0 };
  let e = bitLength(p) - bitLength(r.q) - 64; // m = p/q / 2^e has ~64 bits
  for (;;) {
    const num = e < 0 ? p << BigInt(-e) : p;
    const den = e > 0 ? r.q << BigInt(e) : r.q;
    let m = num / den;
    if (bitLength(m) > 64) {
      e++;
      continue;
    }
    if (bitLength(m) < 64) {
      e--;
      continue;
    }
    const rem = num - m * den;
    if (rem * 2n > den || (rem * 2n === den && (m & 1n) === 1n)) m++;
    if (bitLength(m) > 64) return { neg, m: m >> 1n, e: e + 1 };
    return { neg, m, e };
  }
}

/** Rounds the integer mantissa m·2^e to 64 bits (half to even). */
function round64(m: bigint, e: number): { m: bigint; e: number } {
  const extra = bitLength(m) - 64;
  if (extra <= 0) return { m, e };
  const div = 1n << BigInt(extra);
  let q = m >> BigInt(extra);
  const rem = m - q * div;
  if (rem * 2n > div || (rem * 2n === div && (q & 1n) === 1n)) q++;
  return round64(q, e + extra);
}

const BYTE_UNITS: Record<string, bigint> = { '': 1n };
for (const [i, p] of ['k', 'm', 'g', 't', 'p', 'e'].entries()) {
  BYTE_UNITS[p] = BYTE_UNITS[`${p}b`] = 1000n ** BigInt(i + 1);
  BYTE_UNITS[`${p}i`] = BYTE_UNITS[`${p}ib`] = 1n << BigInt(10 * (i + 1));
}

/** units.parse_bytes: "10KiB" → 10240; case-insensitive, quotes removed, no spaces. */
function parseBytes(raw: string): unknown {
  const s = raw.toLowerCase().replace(/"/g, '');
  if (s.includes(' ')) return undefined;
  const parts = split(s);
  if (!parts || parts.num === '') return undefined;
  const unit = BYTE_UNITS[parts.unit];
  const r = parseDecimal(parts.num);
  if (unit === undefined || !r) return undefined;
  const f = toFloat64Prec(r);
  const { m, e } = round64(f.m * unit, f.e);
  const abs = e >= 0 ? m << BigInt(e) : m >> BigInt(-e); // big.Float.Int truncates toward zero
  return rawJson((f.neg && abs !== 0n ? -abs : abs).toString());
}

/** The exact value of a float64 as a rational (0.001 is not exactly a thousandth). */
function ratOfFloat(x: number): Rat {
  const { m, e } = floatParts(x);
  return e >= 0 ? { p: m << BigInt(e), q: 1n } : { p: m, q: 1n << BigInt(-e) };
}

const SI_UNITS: Record<string, Rat> = { '': { p: 1n, q: 1n }, m: ratOfFloat(0.001) };
for (const [i, p] of ['k', 'M', 'g', 't', 'p', 'e'].entries()) {
  const dec = { p: 1000n ** BigInt(i + 1), q: 1n };
  const bin = { p: 1n << BigInt(10 * (i + 1)), q: 1n };
  const lower = p.toLowerCase();
  SI_UNITS[p.toUpperCase()] = dec;
  if (p !== 'M') SI_UNITS[lower] = dec;
  SI_UNITS[`${lower}i`] = SI_UNITS[`${p.toUpperCase()}i`] = bin;
}

const abs = (n: bigint) => (n < 0n ? -n : n);

/** big.Rat FloatString(10): 10 decimals, the last rounded half away from zero. */
function floatString10(r: Rat): string {
  const scaled = abs(r.p) * 10n ** 10n;
  let q = scaled / r.q;
  if ((scaled % r.q) * 2n >= r.q) q++;
  const digits = q.toString().padStart(11, '0');
  return `${r.p < 0n ? '-' : ''}${digits.slice(0, -10)}.${digits.slice(-10)}`;
}

/** units.parse: SI (k, M, m = milli, …) and binary (Ki, Mi, …) suffixes; only the first letter keeps its case. */
function parseUnits(raw: string): unknown {
  const s = raw.replace(/"/g, '');
  if (s.includes(' ')) return undefined;
  const parts = split(s);
  if (!parts || parts.num === '') return undefined;
  const u = parts.unit.length > 1 ? parts.unit[0] + parts.unit.slice(1).toLowerCase() : parts.unit;
  const unit = SI_UNITS[u];
  const r = parseDecimal(parts.num);
  if (!unit || !r) return undefined;
  const p = r.p * unit.p;
  const q = r.q * unit.q;
  return rawJson(p % q === 0n ? (p / q).toString() : floatString10({ p, q }));
}

/** units.parse_bytes, units.parse. */
export function unitsBuiltins(): Record<string, HostBuiltin> {
  return {
    'units.parse_bytes': (s: unknown) => (typeof s === 'string' ? parseBytes(s) : undefined),
    'units.parse': (s: unknown) => (typeof s === 'string' ? parseUnits(s) : undefined),
  };
}
