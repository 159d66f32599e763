/**
 * `parsed_body` and `truncated_body` as opa-envoy-plugin's getParsedBody makes them (envoyauth/request.go):
 * - `x-envoy-auth-partial-body: true` (Envoy cut the body at max_request_bytes) → null, truncated;
 * - by content-type substring: application/json → the JSON value; application/x-www-form-urlencoded →
 *   {name: [values]}; multipart/form-data → {name: [string | JSON value]}; application/grpc → null (SIGIL loads
 *   no proto descriptors, like the plugin without `proto_descriptor`); anything else → null;
 * - the payload is `body`, else `raw_body` (what Envoy sends with `pack_as_bytes: true`);
 * - a content-length larger than the payload → null, truncated; a content-length that is not a Go int64 → error.
 * Errors throw {@link BodyError} (the plugin then answers 400).
 */
import { isUtf8 } from 'node:buffer';
import { goUtf8 } from './builtins/go-json.js';
import { mayNeedExact, parseExact, RawNumber } from './exact-json.js';
import { MimeError, parseMediaType, readMultipart } from './go-mime.js';
import { parseQuery } from './go-url.js';

/** A body the plugin refuses to turn into input (it answers 400). */
export class BodyError extends Error {}

/** The two body fields of the input document. */
export interface ParsedBody {
  parsed: unknown;
  truncated: boolean;
}

const NONE: ParsedBody = Object.freeze({ parsed: null, truncated: false });
const TRUNCATED: ParsedBody = Object.freeze({ parsed: null, truncated: true });
const INT64_MAX = 2n ** 63n - 1n;

/** Go strconv.ParseInt(s, 10, 64) then the plugin's `cl != -1 && cl > len(payload)`. */
function truncatedBy(contentLength: string | undefined, size: number): boolean {
  if (contentLength === undefined) return false;
  const m = /^[+-]?\d+$/.exec(contentLength);
  const n = m ? BigInt(contentLength) : undefined;
  if (n === undefined || n > INT64_MAX || n < -INT64_MAX - 1n)
    throw new BodyError(`strconv.ParseInt: parsing ${JSON.stringify(contentLength)}: invalid syntax`);
  return n !== -1n && n > BigInt(size);
}

/**
 * Go encoding/json into `any` (OPA util.UnmarshalJSON): one value and nothing after it; invalid UTF-8 and
 * unpaired surrogate escapes become U+FFFD, as Go's decoder replaces them; numbers a double would change stay
 * exact (lib/exact-json.ts), as json.Number keeps them.
 */
export function parseGoJson(text: string): unknown {
  let v: unknown;
  try {
    v = mayNeedExact(text) ? parseExact(text) : JSON.parse(text);
  } catch (e) {
    throw new BodyError((e as Error).message);
  }
  return /\\u[dD][89a-fA-F]/.test(text) ? wellFormed(v) : v;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const fix = (s: string) => s.replace(LONE_SURROGATE, '\ufffd');

function wellFormed(v: unknown): unknown {
  if (typeof v === 'string') return fix(v);
  if (v instanceof RawNumber) return v;
  if (Array.isArray(v)) return v.map(wellFormed);
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = Object.create(null);
    for (const [k, x] of Object.entries(v)) out[fix(k)] = wellFormed(x);
    return out;
  }
  return v;
}

function multipart(contentType: string, payload: string): unknown {
  let params: Record<string, string>;
  try {
    params = parseMediaType(contentType).params;
  } catch (e) {
    if (e instanceof MimeError) throw new BodyError(e.message);
    throw e;
  }
  const boundary = params.boundary;
  if (boundary === undefined) return null;
  const values: Record<string, unknown[]> = Object.create(null);
  let parts: ReturnType<typeof readMultipart>;
  try {
    parts = readMultipart(payload, boundary);
  } catch (e) {
    if (e instanceof MimeError) throw new BodyError(e.message);
    throw e;
  }
  for (const p of parts) {
    if (p.name === '') continue;
    const name = goUtf8(p.name);
    const v = p.contentType.includes('application/json') ? parseGoJson(goUtf8(p.body)) : goUtf8(p.body);
    const list = values[name] ?? [];
    list.push(v);
    values[name] = list;
  }
  return values;
}

/**
 * getParsedBody for a request with `headers` (Envoy's lower-case map), `body` (string field) and `rawBody`
 * (bytes field). Throws {@link BodyError} where the plugin returns an error.
 */
export function parseRequestBody(
  headers: Readonly<Record<string, string>>,
  body: string,
  rawBody: Uint8Array,
): ParsedBody {
  if (headers['x-envoy-auth-partial-body'] === 'true') return TRUNCATED;
  const ct = headers['content-type'];
  if (ct === undefined) return NONE;
  const kind = ct.includes('application/json')
    ? 'json'
    : ct.includes('application/grpc')
      ? 'grpc'
      : ct.includes('application/x-www-form-urlencoded')
        ? 'form'
        : ct.includes('multipart/form-data')
          ? 'multipart'
          : undefined;
  if (kind === undefined || kind === 'grpc') return NONE;
  // The payload: `body` when set, else `raw_body`; as text the way Go decodes it (invalid UTF-8 → U+FFFD per
  // byte), and as bytes (one latin1 char per byte) for multipart.
  let text: string;
  let size: number;
  let bytes: () => string;
  if (body !== '') {
    text = /[\ud800-\udfff]/.test(body) ? fix(body) : body; // a lone surrogate is U+FFFD in UTF-8
    size = Buffer.byteLength(text, 'utf8');
    bytes = () => Buffer.from(text, 'utf8').toString('latin1');
  } else {
    const buf = Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength);
    if (buf.length === 0) return NONE;
    text = isUtf8(buf) ? buf.toString('utf8') : goUtf8(buf.toString('latin1'));
    size = buf.length;
    bytes = () => buf.toString('latin1');
  }
  if (truncatedBy(headers['content-length'], size)) return TRUNCATED;
  if (kind === 'json') return { parsed: parseGoJson(text), truncated: false };
  if (kind === 'form') {
    const q = parseQuery(text);
    if (q.error !== undefined) throw new BodyError(q.error);
    return { parsed: q.values, truncated: false };
  }
  return { parsed: multipart(ct, bytes()), truncated: false };
}
