/**
 * A reference "lenient upstream" (issue #18): which tools/call names a real MCP server behind Envoy would run
 * for a request, written independently of SIGIL's body code. It reads the bytes Envoy forwards the way common
 * servers do and unions the results:
 * - Node: Content-Encoding inflated (body-parser), `Buffer.toString('utf8')` or the charset parameter's
 *   decoder (iconv-lite: BOM stripped), then `JSON.parse`;
 * - Python: `json.loads(bytes)` (json.detect_encoding: BOM, else the NUL pattern of the first four bytes) and
 *   `json.loads(body.decode('utf-8', errors='replace'))`, both accepting NaN / Infinity;
 * - Go: encoding/json, whose struct fields match member names case-insensitively (Unicode simple folding,
 *   so `ſ` is `s`, Kelvin `K` is `k`, `ı` is `i`), the last matching member winning.
 * Invalid bytes always decode to U+FFFD (errors='replace'). Duplicate member names: the last one wins
 * (JSON.parse, Python's dict, Go). A truncated body has an unknown rest: when any reading of the received
 * prefix is blank or starts like JSON, the upstream may run any tool (`unknown`).
 */
import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';

/** What the upstream would run. */
export interface UpstreamCalls {
  /** tools/call names some reading executes. */
  tools: string[];
  /** The body was cut short and its rest could hold any call. */
  unknown: boolean;
}

type Bytes = Uint8Array;

function lossy(label: string, b: Bytes): string {
  return new TextDecoder(label, { ignoreBOM: true }).decode(b);
}

function utf32(b: Bytes, le: boolean): string {
  let s = '';
  for (let i = 0; i + 3 < b.length; i += 4) {
    const cp = le
      ? (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0
      : ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
    s += cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ? '\uFFFD' : String.fromCodePoint(cp);
  }
  if (b.length % 4 !== 0) s += '\uFFFD';
  return s;
}

const startsWith = (b: Bytes, p: number[]) => p.every((x, i) => b[i] === x);

/** CPython's json.detect_encoding + bytes.decode(enc, errors='replace'). */
function pythonDecode(b: Bytes): string {
  if (startsWith(b, [0, 0, 0xfe, 0xff])) return utf32(b.subarray(4), false);
  if (startsWith(b, [0xff, 0xfe, 0, 0])) return utf32(b.subarray(4), true);
  if (startsWith(b, [0xfe, 0xff])) return lossy('utf-16be', b.subarray(2));
  if (startsWith(b, [0xff, 0xfe])) return lossy('utf-16le', b.subarray(2));
  if (startsWith(b, [0xef, 0xbb, 0xbf])) return lossy('utf-8', b.subarray(3));
  if (b.length >= 4) {
    if (!b[0]) return b[1] ? lossy('utf-16be', b) : utf32(b, false);
    if (!b[1]) return b[2] || b[3] ? lossy('utf-16le', b) : utf32(b, true);
  } else if (b.length === 2) {
    if (!b[0]) return lossy('utf-16be', b);
    if (!b[1]) return lossy('utf-16le', b);
  }
  return lossy('utf-8', b);
}

/** iconv-lite's decoders for a charset parameter (BOM stripped); [] for one Node servers refuse. */
function charsetTexts(b: Bytes, charset: string): string[] {
  const strip = (s: string) => (s.charCodeAt(0) === 0xfeff ? s.slice(1) : s);
  switch (charset.replace(/[^a-z0-9]/g, '')) {
    case 'utf8':
      return [strip(lossy('utf-8', b))];
    case 'utf16le':
    case 'ucs2':
      return [strip(lossy('utf-16le', b))];
    case 'utf16be':
      return [strip(lossy('utf-16be', b))];
    case 'utf16':
      if (startsWith(b, [0xfe, 0xff])) return [lossy('utf-16be', b.subarray(2))];
      return [strip(lossy('utf-16le', b)), strip(lossy('utf-16be', b))];
    case 'utf32le':
      return [strip(utf32(b, true))];
    case 'utf32be':
      return [strip(utf32(b, false))];
    case 'utf32':
      return [strip(utf32(b, true)), strip(utf32(b, false))];
    case 'latin1':
    case 'iso88591':
    case 'usascii':
    case 'ascii':
    case 'windows1252':
      return [lossy('latin1', b)];
    default:
      return [];
  }
}

/** Python's json.loads on a str: JSON plus the NaN / Infinity / -Infinity literals (read here as 0). */
function pythonParse(text: string): unknown {
  if (text.charCodeAt(0) === 0xfeff) return undefined; // "Unexpected UTF-8 BOM"
  // Strings kept as they are; the literals outside them become 0.
  return tryParse(text.replace(/"(?:[^"\\]|\\.)*"|-?Infinity|NaN/gs, (m) => (m.startsWith('"') ? m : '0')));
}

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Go's encoding/json field matching (encoding/json/fold.go): ASCII upper-cased, any other rune
 * `unicode.ToUpper(unicode.ToLower(r))` (simple mappings: JS's full mapping of `İ` is two code points).
 */
function goFold(name: string): string {
  let out = '';
  for (const c of name) {
    if (c.charCodeAt(0) < 0x80) {
      out += c.toUpperCase();
      continue;
    }
    const low = c === '\u0130' ? 'i' : c.toLowerCase();
    const l = [...low].length === 1 ? low : c;
    const up = l.toUpperCase();
    out += [...up].length === 1 ? up : l;
  }
  return out;
}

/** The member Go would decode into field `name`: the last key that folds to it. */
function goField(o: Record<string, unknown>, name: string): unknown {
  let v: unknown;
  for (const k of Object.keys(o)) if (goFold(k) === goFold(name)) v = o[k];
  return v;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** tools/call names in a parsed document (one message or a batch). */
function callsOf(doc: unknown, field: (o: Record<string, unknown>, n: string) => unknown): string[] {
  const out: string[] = [];
  for (const m of Array.isArray(doc) ? doc : [doc]) {
    if (!isObject(m) || field(m, 'method') !== 'tools/call') continue;
    const params = field(m, 'params');
    if (!isObject(params)) continue;
    const name = field(params, 'name');
    if (typeof name === 'string') out.push(name);
  }
  return out;
}

/** Undoes Content-Encoding (and a Transfer-Encoding coding a proxy may decode); undefined when unreadable. */
function decodeCodings(b: Bytes, headers: Readonly<Record<string, string>>): Bytes | undefined {
  const codings = [headers['content-encoding'] ?? '', headers['transfer-encoding'] ?? '']
    .flatMap((h) => h.split(','))
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity' && c !== 'chunked')
    .reverse();
  let out: Bytes = b;
  try {
    for (const c of codings) {
      if (c === 'gzip' || c === 'x-gzip') out = gunzipSync(out);
      else if (c === 'deflate') {
        try {
          out = inflateSync(out);
        } catch {
          out = inflateRawSync(out);
        }
      } else if (c === 'br') out = brotliDecompressSync(out);
      else return undefined; // a server answers 415
    }
  } catch {
    return undefined;
  }
  return out;
}

/** Every text reading a lenient upstream makes of `b` (distinct texts only). */
function readings(b: Bytes, contentType: string): string[] {
  const utf8 = lossy('utf-8', b);
  // Node strips a BOM (iconv-lite); Python's str path refuses one, so its reading adds nothing.
  const out = new Set([utf8.charCodeAt(0) === 0xfeff ? utf8.slice(1) : utf8, pythonDecode(b)]);
  const cs = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(contentType)?.[1]?.toLowerCase();
  if (cs) for (const text of charsetTexts(b, cs)) out.add(text);
  return [...out];
}

/** JSON.parse, or Python's json.loads when only its NaN / Infinity literals stand in the way. */
function lenientParse(text: string): unknown {
  const doc = tryParse(text);
  if (doc !== undefined || !/NaN|Infinity/.test(text)) return doc;
  return pythonParse(text);
}

/** JSON text that has begun a container (one BOM stripped, JSON whitespace skipped). */
const OPEN_PREFIX = /^\uFEFF?[ \t\n\r]*[{[]/;

/** " {" in every encoding a reader may pick, cut at every offset within its first code unit. */
const CONTINUATIONS: Uint8Array[] = [
  Buffer.from(' {'),
  Buffer.from(' {', 'utf16le'),
  Buffer.from(' {', 'utf16le').swap16(),
  Buffer.from([0x20, 0, 0, 0, 0x7b, 0, 0, 0]),
  Buffer.from([0, 0, 0, 0x20, 0, 0, 0, 0x7b]),
].flatMap((c) => [0, 1, 2, 3].filter((k) => k < c.length / 2).map((k) => new Uint8Array(c.subarray(k))));

/**
 * Could the rest of a cut body make it a call? True when some reading of the prefix followed by whitespace
 * and `{` (in any encoding, completing a cut code unit) has begun a JSON container — then the rest may be a
 * tools/call of anything.
 */
function openEnded(prefix: Bytes, contentType: string): boolean {
  return CONTINUATIONS.some((c) => {
    const b = new Uint8Array(Buffer.concat([prefix, c]));
    return [...readings(b, contentType), lossy('utf-16le', b), lossy('utf-16be', b)].some((t) =>
      OPEN_PREFIX.test(t),
    );
  });
}

/** What a lenient upstream would run for a request with these headers and body bytes. */
export function upstreamCalls(
  headers: Readonly<Record<string, string>>,
  body: Bytes | undefined,
): UpstreamCalls {
  const size = body?.length ?? 0;
  const declared = headers['content-length'];
  const truncated =
    headers['x-envoy-auth-partial-body'] === 'true' ||
    (declared !== undefined && /^\d{1,15}$/.test(declared) && Number(declared) > size);
  // Envoy sent none of a declared body: the upstream gets bytes that may be any call.
  if (body === undefined || size === 0) return { tools: [], unknown: truncated };
  const ct = headers['content-type'] ?? '';
  // A compressed prefix: its rest may inflate to anything.
  if (truncated && (decodeCodings(body, headers) !== body || openEnded(body, ct))) {
    return { tools: [], unknown: true };
  }
  const plain = decodeCodings(body, headers);
  if (plain === undefined) return { tools: [], unknown: false };
  const tools = new Set<string>();
  for (const text of readings(plain, ct)) {
    const doc = lenientParse(text);
    if (doc === undefined) continue;
    for (const t of callsOf(doc, (o, n) => o[n])) tools.add(t);
    for (const t of callsOf(doc, goField)) tools.add(t);
  }
  return { tools: [...tools], unknown: false };
}
