/**
 * Host builtins. `opa build -t wasm` compiles most Rego builtins into the module; the rest are imported from the
 * host and listed by the module's `builtins` export (OPA Wasm ABI, docs "WebAssembly" §Builtins). opa-wasm ships
 * a few in JS (sprintf, json.is_valid, regex.split, yaml.*); SIGIL adds the ones Envoy policies commonly use.
 *
 * Semantics follow OPA's topdown implementations. OPA's default (non-strict) mode turns a builtin error into
 * "undefined", so every builtin here returns `undefined` on bad input instead of throwing (opa-wasm maps an
 * undefined host result to an undefined expression). Numbers that exceed 2^53 (nanosecond times) are returned as
 * raw JSON text in an ArrayBuffer, which opa-wasm parses inside Wasm, so they stay exact.
 */
import { createHash, createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import { sha256 } from '../../lib/bytes.js';

/** A host builtin as opa-wasm calls it: JSON-decoded arguments in, a JSON value (or raw JSON text) out. */
type HostBuiltin = (...args: unknown[]) => unknown;

/** Per-evaluation state the host builtins read. */
export interface BuiltinState {
  /** Evaluation time in epoch nanoseconds, fixed for the whole evaluation like OPA's `time.now_ns()`. */
  nowNs: bigint;
}

/** Raw JSON text for opa-wasm (see module comment). */
function rawJson(text: string): ArrayBuffer {
  const b = Buffer.from(text, 'utf8');
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** RFC 3339 §5.6 date-time → epoch nanoseconds, with Go time.Parse range checks; undefined when invalid. */
function parseRfc3339Ns(s: string): bigint | undefined {
  const m = RFC3339.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, se] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i]));
  if (mo! < 1 || mo! > 12 || d! < 1 || h! > 23 || mi! > 59 || se! > 59) return undefined;
  const daysInMonth = new Date(Date.UTC(y!, mo!, 0)).getUTCDate();
  if (d! > daysInMonth) return undefined;
  let offsetMin = 0;
  if (!m[8]) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return undefined;
    offsetMin = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const ms = Date.UTC(y!, mo! - 1, d!, h!, mi!, se!) - offsetMin * 60_000;
  const frac = BigInt((m[7] ?? '').padEnd(9, '0') || '0');
  return BigInt(ms) * 1_000_000n + frac;
}

/** Base64url (padding optional) → Buffer, undefined on characters outside the alphabet. */
function b64url(s: string): Buffer | undefined {
  const t = s.replace(/=+$/, '');
  if (!/^[A-Za-z0-9_-]*$/.test(t) || t.length % 4 === 1) return undefined;
  return Buffer.from(t, 'base64url');
}

/** The JSON object `b` holds, else undefined. */
function jsonObject(b: Buffer | undefined): Record<string, unknown> | undefined {
  try {
    const v: unknown = b && JSON.parse(b.toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** io.jwt.decode: [header, payload, signature-hex] of a compact JWS (RFC 7515 §7.1); no verification. */
function jwtDecode(token: unknown): unknown {
  if (typeof token !== 'string') return undefined;
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const header = jsonObject(b64url(parts[0]!));
  if (!header || 'enc' in header) return undefined; // JWE is not decodable without keys (OPA errors too)
  const payload = jsonObject(b64url(parts[1]!));
  const sig = b64url(parts[2]!);
  if (!payload || !sig) return undefined;
  return [header, payload, sig.toString('hex')];
}

/** Go url.QueryEscape: unreserved bytes stay, space → '+', everything else %XX (uppercase). */
function queryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/**
 * Percent-decoding on bytes (RFC 3986 §2.1), as Go's url.unescape: `%XX` → byte, optionally `+` → space; the bytes
 * are read as UTF-8 with invalid sequences replaced by U+FFFD, which is what Go's JSON encoding of the resulting
 * string shows OPA. Undefined on a malformed escape.
 */
export function percentDecode(s: string, plusIsSpace: boolean): string | undefined {
  if (!s.includes('%')) return plusIsSpace && s.includes('+') ? s.replace(/\+/g, ' ') : s;
  if (/%(?![0-9A-Fa-f]{2})/.test(s)) return undefined;
  // The UTF-8 bytes of `s` as latin1 text (one char per byte); '%', '+' and hex digits are ASCII.
  const bytes = Buffer.from(s, 'utf8').toString('latin1');
  const escapes = plusIsSpace ? /%([0-9A-Fa-f]{2})|\+/g : /%([0-9A-Fa-f]{2})/g;
  return goUtf8(
    bytes.replace(escapes, (_, hex?: string) => (hex ? String.fromCharCode(Number.parseInt(hex, 16)) : ' ')),
  );
}

/**
 * A well-formed non-ASCII UTF-8 sequence (Unicode §3.9 Table 3-7), over bytes as latin1 text, or else one
 * non-ASCII byte.
 */
const UTF8_SEQUENCE = new RegExp(
  [
    '[\\xc2-\\xdf][\\x80-\\xbf]',
    '\\xe0[\\xa0-\\xbf][\\x80-\\xbf]',
    '[\\xe1-\\xec\\xee\\xef][\\x80-\\xbf]{2}',
    '\\xed[\\x80-\\x9f][\\x80-\\xbf]',
    '\\xf0[\\x90-\\xbf][\\x80-\\xbf]{2}',
    '[\\xf1-\\xf3][\\x80-\\xbf]{3}',
    '\\xf4[\\x80-\\x8f][\\x80-\\xbf]{2}',
    '[\\x80-\\xff]',
  ].join('|'),
  'g',
);

/**
 * Bytes (as latin1 text) → string the way Go sees invalid UTF-8 (utf8.DecodeRune): each byte that does not start
 * a well-formed sequence becomes one U+FFFD (WHATWG decoding, Node's default, merges a truncated sequence into a
 * single U+FFFD, so OPA and SIGIL would disagree on e.g. `%E2%9C`).
 */
export function goUtf8(bytes: string): string {
  return bytes.replace(UTF8_SEQUENCE, (seq) =>
    seq.length === 1 ? '\ufffd' : Buffer.from(seq, 'latin1').toString('utf8'),
  );
}

/** Go url.QueryUnescape; undefined on a bad escape. */
export function queryUnescape(s: string): string | undefined {
  return percentDecode(s, true);
}

/** Go url.ParseQuery as OPA's urlquery.decode_object uses it: key → [values], in order. */
function decodeQueryObject(q: string): Record<string, string[]> | undefined {
  const out: Record<string, string[]> = {};
  for (const pair of q.split('&')) {
    if (pair === '') continue;
    if (pair.includes(';')) return undefined; // Go 1.17+ rejects semicolons
    const eq = pair.indexOf('=');
    const k = queryUnescape(eq === -1 ? pair : pair.slice(0, eq));
    const v = queryUnescape(eq === -1 ? '' : pair.slice(eq + 1));
    if (k === undefined || v === undefined) return undefined;
    if (!Object.hasOwn(out, k)) out[k] = [];
    out[k]!.push(v);
  }
  return out;
}

/** Strings from a string / array / set argument (sets arrive as JSON arrays). */
function stringsOf(v: unknown): string[] | undefined {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  return undefined;
}

const str = (f: (s: string) => unknown) => (x: unknown) => (typeof x === 'string' ? f(x) : undefined);

/** strings.any_prefix_match / any_suffix_match: does any of the strings match any of the affixes? */
const anyMatch = (match: (s: string, affix: string) => boolean) => (a: unknown, b: unknown) => {
  const xs = stringsOf(a);
  const ps = stringsOf(b);
  return xs && ps ? xs.some((x) => ps.some((p) => match(x, p))) : undefined;
};

/** The builtins SIGIL provides, bound to the per-evaluation `state`. */
export function sigilBuiltins(state: BuiltinState): Record<string, HostBuiltin> {
  return {
    'time.now_ns': () => rawJson(state.nowNs.toString()),
    'time.parse_rfc3339_ns': str((s) => {
      const ns = parseRfc3339Ns(s);
      return ns === undefined ? undefined : rawJson(ns.toString());
    }),
    'io.jwt.decode': jwtDecode,
    'urlquery.encode': str(queryEscape),
    'urlquery.decode': str(queryUnescape),
    'urlquery.decode_object': str(decodeQueryObject),
    'crypto.sha256': str((s) => sha256(s, 'hex')),
    'crypto.sha1': str((s) => createHash('sha1').update(s, 'utf8').digest('hex')),
    'crypto.md5': str((s) => createHash('md5').update(s, 'utf8').digest('hex')),
    'crypto.hmac.sha256': (x: unknown, k: unknown) =>
      typeof x === 'string' && typeof k === 'string'
        ? createHmac('sha256', k).update(x).digest('hex')
        : undefined,
    'hex.encode': str((s) => Buffer.from(s, 'utf8').toString('hex')),
    'hex.decode': str((s) =>
      /^([0-9a-fA-F]{2})*$/.test(s) ? Buffer.from(s, 'hex').toString('utf8') : undefined,
    ),
    'base64url.encode_no_pad': str((s) => Buffer.from(s, 'utf8').toString('base64url')),
    'strings.any_prefix_match': anyMatch((x, p) => x.startsWith(p)),
    'strings.any_suffix_match': anyMatch((x, p) => x.endsWith(p)),
    // trace() only matters to OPA's tracer; inside a decision it is always true.
    trace: str(() => true),
  };
}

/**
 * Builtin names a module imports that nobody provides (empty = loadable). opa-wasm's own JS builtins are read
 * from the package (not hard-coded) so an upgrade that adds or drops one is reflected; its `exports` hides the
 * file, so it is resolved relative to the main entry.
 */
export function missingBuiltins(required: readonly string[]): string[] {
  const opaWasm = createRequire(createRequire(import.meta.url).resolve('@open-policy-agent/opa-wasm'));
  const have = new Set([
    ...Object.keys(opaWasm('./builtins/index.js') as Record<string, unknown>),
    ...Object.keys(sigilBuiltins({ nowNs: 0n })),
  ]);
  return required.filter((n) => !have.has(n)).sort();
}
