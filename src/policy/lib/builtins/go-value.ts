/**
 * Go/OPA value conventions the host builtins share: OPA's total order of values (sets print and iterate in it),
 * Go's byte-wise string order, Rego's `Value.String()` text, and Go's `encoding/json` output.
 */

/** Code-point (= UTF-8 byte) order, as Go compares strings; JS `<` compares UTF-16 units instead. */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

const RANK: Record<string, number> = { null: 0, boolean: 1, number: 2, string: 3, array: 4, object: 5 };
const rank = (v: unknown): number => RANK[v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v] ?? 6;

/**
 * OPA's ordering of values (ast.Compare): null < booleans < numbers < strings < arrays < objects; arrays
 * element-wise, objects by sorted keys then values. Sets reach the host as arrays, so they order as arrays.
 */
export function compareValues(a: unknown, b: unknown): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  if (typeof a === 'boolean') return a === b ? 0 : a ? 1 : -1;
  if (typeof a === 'number') return a === b ? 0 : a < (b as number) ? -1 : 1;
  if (typeof a === 'string') return compareStrings(a, b as string);
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    for (let i = 0; i < Math.min(a.length, bb.length); i++) {
      const c = compareValues(a[i], bb[i]);
      if (c !== 0) return c;
    }
    return a.length - bb.length === 0 ? 0 : a.length < bb.length ? -1 : 1;
  }
  if (a !== null && typeof a === 'object') {
    const ao = a as Record<string, unknown>;
    const bo = b as Record<string, unknown>;
    const ak = sortedKeys(ao);
    const bk = sortedKeys(bo);
    for (let i = 0; i < Math.min(ak.length, bk.length); i++) {
      const c = compareStrings(ak[i]!, bk[i]!) || compareValues(ao[ak[i]!], bo[bk[i]!]);
      if (c !== 0) return c;
    }
    return ak.length === bk.length ? 0 : ak.length < bk.length ? -1 : 1;
  }
  return 0;
}

/** Object keys in Go's order. */
export function sortedKeys(o: Record<string, unknown>): string[] {
  return Object.keys(o).sort(compareStrings);
}

/** A Rego set as the host returns it: distinct members in OPA's order (the ABI has no set type for results). */
export function asSet<T>(xs: readonly T[]): T[] {
  const sorted = [...xs].sort(compareValues);
  return sorted.filter((x, i) => i === 0 || compareValues(sorted[i - 1], x) !== 0);
}

/** Deep equality in OPA's sense (1 == 1.0). */
export const valuesEqual = (a: unknown, b: unknown): boolean => compareValues(a, b) === 0;

/** Go's strconv.Quote: printable runes stay, the rest become \a \b … \xHH \uHHHH \UHHHHHHHH. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (c >= 0x20 && c < 0x7f) out += ch;
    else if (c < 0x80 || !isGoPrintable(ch)) out += goEscape(c);
    else out += ch;
  }
  return `${out}"`;
}

const SHORT_ESCAPES: Record<number, string> = {
  7: '\\a',
  8: '\\b',
  12: '\\f',
  10: '\\n',
  13: '\\r',
  9: '\\t',
  11: '\\v',
};

function goEscape(c: number): string {
  if (SHORT_ESCAPES[c]) return SHORT_ESCAPES[c]!;
  if (c < 0x80 && c !== 0xfffd) return `\\x${c.toString(16).padStart(2, '0')}`;
  if (c < 0x10000) return `\\u${c.toString(16).padStart(4, '0')}`;
  return `\\U${c.toString(16).padStart(8, '0')}`;
}

/** Go's unicode.IsPrint approximated with Unicode properties: letters, marks, numbers, punctuation, symbols, U+0020. */
function isGoPrintable(ch: string): boolean {
  return /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(ch);
}

/**
 * Rego's text for a value (ast.Value.String()): what sprintf's %v prints for non-scalar arguments. Object keys
 * sorted, `": "` and `", "` separators, strings Go-quoted. A set arrives as an array and prints as one.
 */
export function regoString(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return goQuote(v);
  if (typeof v === 'number') return goNumber(v);
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(regoString).join(', ')}]`;
  const o = v as Record<string, unknown>;
  return `{${sortedKeys(o)
    .map((k) => `${goQuote(k)}: ${regoString(o[k])}`)
    .join(', ')}}`;
}

/** A JSON number as Go's encoding/json writes a float64 (same exponent thresholds as JS). */
export function goNumber(n: number): string {
  return Object.is(n, -0) ? '0' : String(n);
}

/** Go encoding/json string escaping (HTMLEscape on: <, >, & and U+2028/9 escaped). */
export function goJsonString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else if (c < 0x20 || ch === '<' || ch === '>' || ch === '&' || c === 0x2028 || c === 0x2029)
      out += `\\u${c.toString(16).padStart(4, '0')}`;
    else if (c >= 0xd800 && c <= 0xdfff)
      out += '\\ufffd'; // lone surrogate: Go sees invalid UTF-8
    else out += ch;
  }
  return `${out}"`;
}

/** Go json.MarshalIndent (json.Marshal when `indent` is undefined): keys sorted, HTML-escaped strings. */
export function goJsonMarshal(v: unknown, prefix = '', indent?: string): string {
  const nl = (depth: number) => (indent === undefined ? '' : `\n${prefix}${indent.repeat(depth)}`);
  const colon = indent === undefined ? ':' : ': ';
  const walk = (x: unknown, depth: number): string => {
    if (x === null) return 'null';
    if (typeof x === 'string') return goJsonString(x);
    if (typeof x === 'number') return goNumber(x);
    if (typeof x === 'boolean') return String(x);
    if (Array.isArray(x)) {
      if (x.length === 0) return '[]';
      return `[${x.map((e) => nl(depth + 1) + walk(e, depth + 1)).join(',')}${nl(depth)}]`;
    }
    const o = x as Record<string, unknown>;
    const keys = sortedKeys(o);
    if (keys.length === 0) return '{}';
    return `{${keys.map((k) => `${nl(depth + 1)}${goJsonString(k)}${colon}${walk(o[k], depth + 1)}`).join(',')}${nl(depth)}}`;
  };
  return walk(v, 0);
}

/** Is `v` a string? (Argument checks; OPA's type errors become undefined in non-strict mode.) */
export const isString = (v: unknown): v is string => typeof v === 'string';

/** Is `v` a plain JSON object? */
export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** |x| of a finite double as m·2^e exactly (m a 53-bit integer): the exact value Go's big types start from. */
export function floatParts(x: number): { m: bigint; e: number } {
  const buf = Buffer.alloc(8);
  buf.writeDoubleBE(Math.abs(x));
  const bits = buf.readBigUInt64BE();
  const be = Number(bits >> 52n);
  const m = (bits & ((1n << 52n) - 1n)) | (be === 0 ? 0n : 1n << 52n);
  return { m, e: (be === 0 ? 1 : be) - 1075 };
}
