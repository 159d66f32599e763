/**
 * Host builtins. `opa build -t wasm` compiles most Rego builtins into the module; the rest are imported from the
 * host and listed by the module's `builtins` export (OPA Wasm ABI, docs "WebAssembly" §Builtins). opa-wasm ships
 * a few in JS (sprintf, json.is_valid, regex.split, yaml.*); SIGIL adds the ones Envoy policies commonly use, one
 * family per file under ./builtins/, and replaces opa-wasm's sprintf and regex.split (JS, not Go, semantics).
 *
 * Semantics follow OPA's topdown implementations. OPA's default (non-strict) mode turns a builtin error into
 * "undefined", so every builtin here returns `undefined` on bad input instead of throwing (opa-wasm maps an
 * undefined host result to an undefined expression). Numbers that exceed 2^53 (nanosecond times) are returned as
 * raw JSON text in an ArrayBuffer, which opa-wasm parses inside Wasm, so they stay exact.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { sha256 } from '../../lib/bytes.js';
import { goUtf8 } from './builtins/go-json.js';
import { argTexts, type BuiltinState, type HostBuiltin, rawJson } from './builtins/host.js';
import { jsonBuiltins } from './builtins/json.js';
import { jwtBuiltins } from './builtins/jwt.js';
import { netBuiltins } from './builtins/net.js';
import { opaWasmTable, overridingOpaWasm } from './builtins/opa-wasm-table.js';
import { b64urlDecode, goBase64 } from './builtins/pem.js';
import { regexBuiltins } from './builtins/regex.js';
import { semverBuiltins } from './builtins/semver.js';
import { sprintfBuiltins } from './builtins/sprintf.js';
import { stringsBuiltins } from './builtins/strings.js';
import { timeBuiltins } from './builtins/time.js';
import { unitsBuiltins } from './builtins/units.js';
import { queryEscape, urlqueryBuiltins } from './builtins/urlquery.js';
import { uuidBuiltins } from './builtins/uuid.js';
import { x509Builtins } from './builtins/x509.js';

export type { BuiltinState } from './builtins/host.js';

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

/** The integer part (toward zero) of a JSON number text, exactly; undefined beyond 10^4096 (OPA: big.Float). */
function truncatedInt(text: string): bigint | undefined {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) return undefined;
  const digits = m[2]! + (m[3] ?? '');
  const point = m[2]!.length + Number(m[4] ?? 0);
  if (point > 4096) return undefined;
  const int =
    point <= 0
      ? '0'
      : point >= digits.length
        ? digits + '0'.repeat(point - digits.length)
        : digits.slice(0, point);
  return BigInt(m[1] + int);
}

/**
 * format_int(number, base) as OPA's Go: the number truncated toward zero, written with fmt's %b/%o/%d/%x of a
 * big.Int; base exactly 2, 8, 10 or 16. Compiled into the Wasm by opa build (lib/wasm-natives.ts routes it here:
 * the C version aborts beyond 2^32). The exact digits come from the argument's JSON text (host.ts).
 */
function formatInt(n: unknown, base: unknown): string | undefined {
  if (typeof n !== 'number' || ![2, 8, 10, 16].includes(base as number)) return undefined;
  const text = argTexts(2)?.[0];
  const exact = text !== undefined && Number(text) === n ? text : String(n);
  return truncatedInt(exact)?.toString(base as number);
}

const str = (f: (s: string) => unknown) => (x: unknown) => (typeof x === 'string' ? f(x) : undefined);

/** strings.any_prefix_match / any_suffix_match: does any of the strings match any of the affixes? */
const anyMatch = (match: (s: string, affix: string) => boolean) => (a: unknown, b: unknown) => {
  const xs = stringsOf(a);
  const ps = stringsOf(b);
  return xs && ps ? xs.some((x) => ps.some((p) => match(x, p))) : undefined;
};

/** crypto.hmac.<hash>(message, key): hex HMAC (RFC 2104) over the UTF-8 bytes of both strings. */
const hmac = (hash: string) => (x: unknown, k: unknown) =>
  typeof x === 'string' && typeof k === 'string' ? createHmac(hash, k).update(x).digest('hex') : undefined;

/** The builtins SIGIL provides, bound to the per-evaluation `state`. */
export function sigilBuiltins(state: BuiltinState): Record<string, HostBuiltin> {
  return {
    'time.now_ns': () => rawJson(state.nowNs.toString()),
    'urlquery.encode': str(queryEscape),
    'urlquery.decode': str(queryUnescape),
    'urlquery.decode_object': str(decodeQueryObject),
    'crypto.sha256': str((s) => sha256(s, 'hex')),
    'crypto.sha1': str((s) => createHash('sha1').update(s, 'utf8').digest('hex')),
    'crypto.md5': str((s) => createHash('md5').update(s, 'utf8').digest('hex')),
    'crypto.hmac.md5': hmac('md5'),
    'crypto.hmac.sha1': hmac('sha1'),
    'crypto.hmac.sha256': hmac('sha256'),
    'crypto.hmac.sha512': hmac('sha512'),
    // Go's hmac.Equal: constant-time comparison of the two strings' bytes.
    'crypto.hmac.equal': (a: unknown, b: unknown) => {
      if (typeof a !== 'string' || typeof b !== 'string') return undefined;
      const [x, y] = [Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')];
      return x.length === y.length && timingSafeEqual(x, y);
    },
    'hex.encode': str((s) => Buffer.from(s, 'utf8').toString('hex')),
    'hex.decode': str((s) =>
      /^([0-9a-fA-F]{2})*$/.test(s) ? Buffer.from(s, 'hex').toString('utf8') : undefined,
    ),
    'base64url.encode_no_pad': str((s) => Buffer.from(s, 'utf8').toString('base64url')),
    // Compiled into the Wasm by opa build; lib/wasm-natives.ts routes them here (OPA's C is lenient).
    'base64.decode': str((s) => {
      const b = goBase64(s, false);
      return b && goUtf8(b.toString('latin1'));
    }),
    // OPA answers false, not undefined, for a non-string.
    'base64.is_valid': (x: unknown) => typeof x === 'string' && goBase64(x, false) !== undefined,
    format_int: formatInt,
    'base64url.decode': str((s) => {
      const b = b64urlDecode(s);
      return b && goUtf8(b.toString('latin1'));
    }),
    'strings.any_prefix_match': anyMatch((x, p) => x.startsWith(p)),
    'strings.any_suffix_match': anyMatch((x, p) => x.endsWith(p)),
    // trace() only matters to OPA's tracer; inside a decision it is always true.
    trace: str(() => true),
    ...semverBuiltins(),
    ...uuidBuiltins(state),
    ...netBuiltins(),
    ...stringsBuiltins(),
    ...unitsBuiltins(),
    ...jsonBuiltins(),
    ...urlqueryBuiltins(),
    ...overridingOpaWasm({ ...sprintfBuiltins(), ...regexBuiltins() }),
    ...timeBuiltins(),
    ...jwtBuiltins(state),
    ...x509Builtins(),
  };
}

/**
 * Builtin names a module imports that nobody provides (empty = loadable). opa-wasm's own JS builtins are read
 * from the package (not hard-coded) so an upgrade that adds or drops one is reflected.
 */
export function missingBuiltins(required: readonly string[]): string[] {
  const have = new Set([...Object.keys(opaWasmTable()), ...Object.keys(sigilBuiltins({ nowNs: 0n }))]);
  return required.filter((n) => !have.has(n)).sort();
}
