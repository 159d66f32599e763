/**
 * `sprintf` with Go's fmt semantics as OPA calls it (topdown/strings.go): integers are int64 (or *big.Int
 * beyond), other numbers float64, strings strings, and every other value its Rego text (`[1, "a"]`,
 * `{"k": 1}`, booleans and null too). Replaces opa-wasm's JS sprintf (sprintf-js), which prints `%v`, `%q`,
 * `%x`, padding and errors differently.
 *
 * Limits of the host ABI: arguments arrive JSON-decoded, so `1.0` is the integer 1, a set prints as an array,
 * and integers beyond 2^53 have already lost precision. `%x` on floats is refused (undefined).
 */
import { floatParts, goQuote, regoString } from './go-value.js';
import type { HostBuiltin } from './host.js';

type Arg =
  | { kind: 'int64' | '*big.Int'; v: bigint }
  | { kind: 'float64'; v: number }
  | { kind: 'string'; v: string };

const INT64_MAX = (1n << 63n) - 1n;

function toArg(x: unknown): Arg {
  if (typeof x === 'number') {
    // JSON (and so OPA) writes integers from 1e21 up in exponent form, which OPA reads as a float.
    if (!Number.isInteger(x) || Math.abs(x) >= 1e21) return { kind: 'float64', v: x };
    const v = BigInt(x);
    return { kind: v > INT64_MAX || v < -INT64_MAX - 1n ? '*big.Int' : 'int64', v };
  }
  if (typeof x === 'string') return { kind: 'string', v: x };
  return { kind: 'string', v: regoString(x) };
}

interface Spec {
  minus: boolean;
  plus: boolean;
  space: boolean;
  zero: boolean;
  sharp: boolean;
  width?: number;
  prec?: number;
}

class Unsupported extends Error {}

/** Pads to the width in runes; zero padding goes after a sign (Go fmt.pad / fmtInteger). */
function pad(s: string, spec: Spec, zeroOk = true): string {
  const w = spec.width ?? 0;
  const len = [...s].length;
  if (len >= w) return s;
  if (spec.minus) return s + ' '.repeat(w - len);
  if (spec.zero && zeroOk) {
    const sign = /^[+\- ]/.test(s) ? s[0]! : '';
    return sign + '0'.repeat(w - len) + s.slice(sign.length);
  }
  return ' '.repeat(w - len) + s;
}

/** Exact decimal digits of a finite double: |x| = D × 10^k. */
function exact(x: number): { d: bigint; k: number } {
  const { m, e } = floatParts(x);
  return e >= 0 ? { d: m << BigInt(e), k: 0 } : { d: m * 5n ** BigInt(-e), k: e };
}

/** n / 10^p rounded half to even. */
function divRound(n: bigint, p: number): bigint {
  if (p <= 0) return n * 10n ** BigInt(-p);
  const div = 10n ** BigInt(p);
  const q = n / div;
  const r = n % div;
  return r * 2n > div || (r * 2n === div && q % 2n === 1n) ? q + 1n : q;
}

/** %f: `prec` decimals, correctly rounded (half to even on the exact value, as strconv). */
function fixed(x: number, prec: number): string {
  const { d, k } = exact(x);
  const n = divRound(d, -(k + prec))
    .toString()
    .padStart(prec + 1, '0');
  return prec === 0 ? n : `${n.slice(0, -prec)}.${n.slice(-prec)}`;
}

/** Significant digits (no trailing zeros unless `keep`) and decimal exponent of |x| rounded to `sig` digits. */
function sigDigits(x: number, sig: number): { digits: string; exp: number } {
  if (x === 0) return { digits: '0'.repeat(Math.max(sig, 1)), exp: 0 };
  const { d, k } = exact(x);
  const len = d.toString().length;
  let n = divRound(d, len - sig);
  let exp = len + k - 1;
  if (n.toString().length > sig) {
    n /= 10n;
    exp++;
  }
  return { digits: n.toString(), exp };
}

/** Shortest round-trip digits (what strconv gives for precision -1) and decimal exponent. */
function shortest(x: number): { digits: string; exp: number } {
  if (x === 0) return { digits: '0', exp: 0 };
  const [mant, e] = Math.abs(x).toExponential().split('e');
  return { digits: mant!.replace('.', ''), exp: Number(e) };
}

const expText = (e: number, E: boolean) =>
  `${E ? 'E' : 'e'}${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;

function eFormat(digits: string, exp: number, prec: number, E: boolean): string {
  const ds = digits.padEnd(prec + 1, '0');
  return `${ds[0]}${prec > 0 ? `.${ds.slice(1, prec + 1)}` : ''}${expText(exp, E)}`;
}

/** strconv.FormatFloat(|x|, 'g', prec) (prec -1 = shortest; %e above the exponent threshold). */
function gFormat(x: number, prec: number, E: boolean, sharp: boolean): string {
  let p = prec === 0 ? 1 : prec;
  const { digits, exp } = p < 0 ? shortest(x) : sigDigits(x, p);
  const trimmed = sharp ? digits : digits.replace(/(?<=.)0+$/, '');
  let eprec = p < 0 ? 6 : p;
  if (p >= 0 && eprec > trimmed.length && trimmed.length >= exp + 1) eprec = trimmed.length;
  // '#' keeps trailing zeros: at least 6 significant digits for the shortest form (Go fmt.fmtFloat).
  if (p < 0) p = sharp ? Math.max(6, trimmed.length) : trimmed.length;
  if (exp < -4 || exp >= eprec) return eFormat(trimmed, exp, (sharp ? p : trimmed.length) - 1, E);
  // %f with the digits placed around the decimal point.
  const ds = sharp ? trimmed.padEnd(p, '0') : trimmed;
  if (exp < 0) return `0.${'0'.repeat(-exp - 1)}${ds}`;
  const intPart = ds.slice(0, exp + 1).padEnd(exp + 1, '0');
  const frac = ds.slice(exp + 1);
  return frac ? `${intPart}.${frac}` : intPart;
}

function formatFloat(x: number, verb: string, spec: Spec): string | undefined {
  const neg = x < 0 || Object.is(x, -0);
  let body: string;
  switch (verb) {
    case 'v':
    case 'g':
    case 'G':
      body = gFormat(x, spec.prec ?? -1, verb === 'G', spec.sharp);
      break;
    case 'e':
    case 'E': {
      const p = spec.prec ?? 6;
      const { digits, exp } = sigDigits(Math.abs(x), p + 1);
      body = eFormat(digits, exp, p, verb === 'E');
      break;
    }
    case 'f':
    case 'F':
      body = fixed(Math.abs(x), spec.prec ?? 6);
      break;
    default:
      return undefined;
  }
  const sign = neg ? '-' : spec.plus ? '+' : spec.space ? ' ' : '';
  return pad(sign + body, spec);
}

function formatInt(n: bigint, verb: string, spec: Spec, kind: string): string | undefined {
  const neg = n < 0n;
  const abs = neg ? -n : n;
  let body: string;
  let prefix = '';
  switch (verb) {
    case 'v':
    case 'd':
      body = abs.toString();
      break;
    case 'b':
      body = abs.toString(2);
      break;
    case 'o':
    case 'O':
      body = abs.toString(8);
      if (verb === 'O') prefix = '0o';
      else if (spec.sharp) prefix = '0';
      break;
    case 'x':
    case 'X':
      body = abs.toString(16);
      if (verb === 'X') body = body.toUpperCase();
      if (spec.sharp) prefix = verb === 'x' ? '0x' : '0X';
      break;
    case 'c':
    case 'q':
    case 'U': {
      if (kind !== 'int64') return undefined;
      const c = n >= 0n && n <= 0x10ffffn && !(n >= 0xd800n && n <= 0xdfffn) ? Number(n) : 0xfffd;
      const ch = String.fromCodePoint(c);
      if (verb === 'c') return pad(ch, spec, false);
      if (verb === 'q')
        return pad(`'${goQuote(ch).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'")}'`, spec, false);
      const u = `U+${n.toString(16).toUpperCase().padStart(4, '0')}`;
      return pad(spec.sharp ? `${u} '${ch}'` : u, spec, false);
    }
    default:
      return undefined;
  }
  if (spec.prec !== undefined) {
    body = spec.prec === 0 && abs === 0n ? '' : body.padStart(spec.prec, '0');
  }
  if (prefix === '0' && body.startsWith('0')) prefix = '';
  const sign = neg ? '-' : spec.plus ? '+' : spec.space ? ' ' : '';
  const zeroOk = spec.prec === undefined;
  if (spec.zero && zeroOk && !spec.minus && spec.width !== undefined) {
    const len = sign.length + prefix.length + body.length;
    if (len < spec.width) body = '0'.repeat(spec.width - len) + body;
  }
  return pad(sign + prefix + body, spec, false);
}

function formatString(s: string, verb: string, spec: Spec): string | undefined {
  const cut = spec.prec !== undefined ? [...s].slice(0, spec.prec).join('') : s;
  switch (verb) {
    case 'v':
    case 's':
      return pad(cut, spec);
    case 'q':
      return pad(goQuote(cut), spec);
    case 'x':
    case 'X': {
      let h = Buffer.from(cut, 'utf8').toString('hex');
      if (verb === 'X') h = h.toUpperCase();
      if (spec.space) h = h.match(/../g)?.join(' ') ?? '';
      return pad(h, spec);
    }
    default:
      return undefined;
  }
}

function formatValue(a: Arg, verb: string, spec: Spec): string {
  let out: string | undefined;
  if (verb === 'T') return pad(a.kind, spec);
  if (a.kind === 'string') out = formatString(a.v, verb, spec);
  else if (a.kind === 'float64') {
    if (verb === 'x' || verb === 'X' || verb === 'b') throw new Unsupported();
    out = formatFloat(a.v, verb, spec);
  } else out = formatInt(a.v, verb, spec, a.kind);
  return out ?? `%!${verb}(${a.kind}=${plain(a)})`;
}

/** The value as %v prints it, for error annotations. */
const plain = (a: Arg) =>
  formatValue(a, 'v', { minus: false, plus: false, space: false, zero: false, sharp: false });

/** Go fmt.Sprintf over converted arguments. */
export function goSprintf(format: string, rawArgs: readonly unknown[]): string {
  const args = rawArgs.map(toArg);
  let out = '';
  let argi = 0;
  let reordered = false;
  const f = [...format];
  for (let i = 0; i < f.length; ) {
    if (f[i] !== '%') {
      out += f[i++];
      continue;
    }
    i++;
    const spec: Spec = { minus: false, plus: false, space: false, zero: false, sharp: false };
    for (; i < f.length; i++) {
      const c = f[i];
      if (c === '-') spec.minus = true;
      else if (c === '+') spec.plus = true;
      else if (c === ' ') spec.space = true;
      else if (c === '0') spec.zero = !spec.minus;
      else if (c === '#') spec.sharp = true;
      else break;
    }
    const argIndex = () => {
      if (f[i] !== '[') return;
      const close = f.indexOf(']', i);
      const n = Number(f.slice(i + 1, close).join(''));
      if (close === -1 || !Number.isInteger(n) || n < 1) throw new Unsupported();
      argi = n - 1;
      reordered = true;
      i = close + 1;
    };
    /** Go fmt's parsenum: a number past 1e6 before its next digit ends the directive (the rest is NOVERB). */
    const num = () => {
      let n: number | undefined;
      while (i < f.length && f[i]! >= '0' && f[i]! <= '9') {
        if ((n ?? 0) > 1e6) {
          i = f.length;
          return undefined;
        }
        n = (n ?? 0) * 10 + Number(f[i++]);
      }
      return n;
    };
    /** A `*` width or precision: the next argument, which must be an int64 (else refused). */
    const star = (): number | undefined => {
      if (f[i] !== '*') return undefined;
      i++;
      const a = args[argi++];
      if (a?.kind !== 'int64' || a.v > 1_000_000n || a.v < -1_000_000n) throw new Unsupported();
      return Number(a.v);
    };
    argIndex();
    spec.width = star() ?? num();
    if (spec.width !== undefined && spec.width < 0) {
      spec.minus = true;
      spec.zero = false;
      spec.width = -spec.width;
    }
    if (f[i] === '.') {
      i++;
      argIndex();
      const p = star();
      spec.prec = p === undefined ? (num() ?? 0) : p < 0 ? undefined : p;
    }
    argIndex();
    if (i >= f.length) {
      out += '%!(NOVERB)';
      break;
    }
    const verb = f[i++]!;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += formatValue(args[argi++]!, verb, spec);
  }
  if (!reordered && argi < args.length) {
    out += `%!(EXTRA ${args
      .slice(argi)
      .map((a) => `${a.kind}=${plain(a)}`)
      .join(', ')})`;
  }
  return out;
}

/** sprintf(format, args). */
export function sprintfBuiltins(): Record<string, HostBuiltin> {
  return {
    sprintf: (format: unknown, args: unknown) => {
      if (typeof format !== 'string' || !Array.isArray(args)) return undefined;
      try {
        return goSprintf(format, args);
      } catch (e) {
        if (e instanceof Unsupported) return undefined;
        throw e;
      }
    },
  };
}
