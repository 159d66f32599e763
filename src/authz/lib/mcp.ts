/**
 * MCP JSON-RPC body inspection (MCP spec, basic/transports "Streamable HTTP"; JSON-RPC 2.0 §4, §6 batch).
 * Finds every `tools/call` and its `params.name`. Fails closed: anything that looks like JSON but is not
 * well-formed JSON-RPC is an error, never "no tool".
 */
import { AuthzError } from '../errors.js';
import { bodyReadings } from './body-text.js';
import { jsonShapeExceeds } from './json-depth.js';
import { hasDuplicateKeys } from './json-duplicates.js';
import { LIMITS } from './limits.js';

const NONE: readonly string[] = Object.freeze([]);
const BAD_BYTES = 'request body has bytes invalid in its encoding';

function isJsonContentType(ct: string | undefined): boolean {
  if (!ct) return false;
  const mt = ct.split(';', 1)[0]!.trim().toLowerCase();
  return mt === 'application/json' || mt.endsWith('+json');
}

/**
 * Go's encoding/json matches member names to struct fields case-insensitively, with Unicode simple folding
 * (`ſ` is `s`, Kelvin `K` is `k`, `ı`/`İ` are `i`), and the last match wins: to a Go MCP server
 * `{"METHOD":"tools/call"}` is a call and `{"name":"search","Name":"delete"}` names delete.
 */
function goFold(name: string): string {
  return name
    .replace(/\u017F/g, 's')
    .replace(/\u212A/g, 'k')
    .replace(/[\u0130\u0131]/g, 'i')
    .toLowerCase();
}

/** Member names that decide a tool call. */
const CALL_FIELDS = new Set(['jsonrpc', 'method', 'params', 'name']);
/** Folding keeps the length in UTF-16 units, so a longer name is none of them (bounds the work per member). */
const LONGEST_FIELD = 7;

/** Refuses a member some upstream would read as one of the call's fields but JSON.parse keeps apart. */
function refuseLookalikes(o: Record<string, unknown>): void {
  for (const k of Object.keys(o)) {
    if (k.length > LONGEST_FIELD) continue;
    const f = goFold(k);
    if (f !== k && CALL_FIELDS.has(f)) {
      throw new AuthzError(
        'AUTHZ_BODY_INVALID',
        `JSON-RPC member ${JSON.stringify(k.slice(0, 64))} is not "${f}"`,
      );
    }
  }
}

function toolOf(msg: unknown): string | undefined {
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
    throw new AuthzError('AUTHZ_BODY_INVALID', 'JSON-RPC message must be an object');
  }
  const m = msg as Record<string, unknown>;
  refuseLookalikes(m);
  if (m.jsonrpc !== '2.0') throw new AuthzError('AUTHZ_BODY_INVALID', 'jsonrpc must be "2.0"');
  // Responses and notifications without a method carry no tool call.
  if (m.method === undefined) return undefined;
  if (typeof m.method !== 'string')
    throw new AuthzError('AUTHZ_BODY_INVALID', 'JSON-RPC method must be a string');
  if (m.method !== 'tools/call') return undefined;
  const params = m.params;
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    throw new AuthzError('AUTHZ_BODY_INVALID', 'tools/call params must be an object');
  }
  refuseLookalikes(params as Record<string, unknown>);
  const name = (params as Record<string, unknown>).name;
  if (typeof name !== 'string' || name.length === 0 || name.length > LIMITS.maxToolName) {
    throw new AuthzError('AUTHZ_BODY_INVALID', 'tools/call params.name must be a non-empty string');
  }
  return name;
}

/** Anything but whitespace or a BOM (JS `\s` holds U+FEFF). */
const SIGNIFICANT = /\S/;
/** In the primary reading controls and U+FFFD may stand for bytes Envoy replaced (a BOM, UTF-16 NULs). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: skipping controls is the point.
const SIGNIFICANT_PRIMARY = /[^\s\u0000-\u001f\uFFFD]/;

/** The first significant character of a reading; undefined when it is blank. */
function firstSignificant(text: string, primary: boolean): string | undefined {
  const i = text.search(primary ? SIGNIFICANT_PRIMARY : SIGNIFICANT);
  return i === -1 ? undefined : text[i];
}

/**
 * A coding other than identity (Content-Encoding) or chunked (Transfer-Encoding): SIGIL would see compressed
 * bytes, the upstream the decoded call.
 */
function refuseEncoded(headers: Readonly<Record<string, string>>): void {
  for (const [name, plain] of [
    ['content-encoding', ['identity']],
    ['transfer-encoding', ['identity', 'chunked']],
  ] as const) {
    for (const part of (headers[name] ?? '').split(',')) {
      const c = part.trim().toLowerCase();
      if (c !== '' && !(plain as readonly string[]).includes(c)) {
        throw new AuthzError('AUTHZ_UNSUPPORTED_ENCODING', `request body has ${name} ${c.slice(0, 64)}`);
      }
    }
  }
}

/**
 * The tools/call names of one JSON text (bounded: depth and node scan before JSON.parse). A `soft` reading
 * (one only a lenient decoder makes) that does not parse is no call at all: undefined instead of a refusal.
 */
function toolsOf(text: string, partial: boolean, soft: boolean): string[] | undefined {
  const excess = jsonShapeExceeds(text, LIMITS.maxJsonDepth, LIMITS.maxJsonNodes);
  if (excess === 'depth') {
    throw new AuthzError('AUTHZ_BODY_TOO_DEEP', `request body nests deeper than ${LIMITS.maxJsonDepth}`);
  }
  if (excess === 'nodes') {
    throw new AuthzError(
      'AUTHZ_BODY_TOO_COMPLEX',
      `request body has more than ${LIMITS.maxJsonNodes} JSON containers and members`,
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (e) {
    if (soft) return undefined;
    const why = 'request body was truncated by Envoy and cannot be inspected';
    if (partial) throw new AuthzError('AUTHZ_BODY_PARTIAL', why, e);
    throw new AuthzError('AUTHZ_BODY_INVALID', 'request body is not valid JSON', e);
  }
  // One message or a batch; the batch bound is checked only once the body is known to be JSON-RPC.
  const messages: unknown[] = Array.isArray(doc) ? doc : [doc];
  if (!messages.some(isRpc)) return [];
  if (hasDuplicateKeys(text))
    throw new AuthzError('AUTHZ_BODY_INVALID', 'JSON-RPC body repeats a member name');
  if (messages.length > LIMITS.maxBatch) {
    throw new AuthzError('AUTHZ_BODY_INVALID', `JSON-RPC batch must hold 1..${LIMITS.maxBatch} messages`);
  }
  const tools: string[] = [];
  for (const m of messages) {
    const t = toolOf(m);
    if (t !== undefined) tools.push(t);
  }
  return tools;
}

/**
 * The tools/call names of a request body, as any lenient upstream would read it (docs/authz.md §4): every
 * reading of the body (BOM / charset / lossy UTF-8) that starts like JSON is inspected, and what cannot be
 * inspected is refused — Content-Encoding (415), replaced bytes (400), a truncated body (413), nesting
 * deeper or more nodes than the limits (400). None when no reading is JSON-RPC or it has no tools/call.
 */
export function mcpTools(
  body: string | Uint8Array | undefined,
  headers: Readonly<Record<string, string>>,
  partial: boolean,
): readonly string[] {
  // Envoy's partial flag, or fewer bytes than the client declared (a string body only grows by U+FFFD).
  const size =
    body === undefined ? 0 : typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length;
  const declared = headers['content-length'];
  const truncated =
    partial || (declared !== undefined && /^\d{1,15}$/.test(declared) && Number(declared) > size);
  if (body === undefined || size === 0) {
    // A declared body SIGIL got none of is a blank prefix: the upstream gets bytes no one inspected.
    if (truncated) throw new AuthzError('AUTHZ_BODY_PARTIAL', 'request body was not sent for inspection');
    return NONE;
  }
  refuseEncoded(headers);
  const contentType = headers['content-type'];
  const jsonCt = isJsonContentType(contentType);
  const tools: string[] = [];
  for (const r of bodyReadings(body, contentType)) {
    const start = firstSignificant(r.text, r.primary);
    const looksJson = start === '{' || start === '[';
    const forced = r.primary && jsonCt;
    // What follows the cut may be a call (e.g. 1 MiB of whitespace, then the call): refuse.
    if (truncated && (looksJson || forced || start === undefined)) {
      throw new AuthzError('AUTHZ_BODY_PARTIAL', 'request body was truncated and cannot be inspected');
    }
    if (!looksJson && !forced) continue;
    // Replaced bytes: the upstream's decoder may read another name or quote there, so refuse. A reading
    // only a lossy decoder makes counts when JSON.parse accepts it (Node's Buffer.toString() path).
    if (r.primary && r.replaced) throw new AuthzError('AUTHZ_INVALID_ENCODING', BAD_BYTES);
    const found = toolsOf(r.text, truncated, !r.primary);
    if (found === undefined) continue;
    if (r.replaced) throw new AuthzError('AUTHZ_INVALID_ENCODING', BAD_BYTES);
    for (const t of found) if (!tools.includes(t)) tools.push(t);
  }
  return tools.length === 0 ? NONE : tools;
}

/**
 * A tools/call without "jsonrpc" is still treated as JSON-RPC (and then refused): a lenient server might run
 * it. Names are compared as Go folds them, so `{"METHOD":"tools/call"}` is JSON-RPC (and refused).
 */
function isRpc(d: unknown): boolean {
  if (typeof d !== 'object' || d === null || Array.isArray(d)) return false;
  for (const k of Object.keys(d)) {
    if (k.length > LONGEST_FIELD) continue;
    const f = goFold(k);
    if (f === 'jsonrpc' || (f === 'method' && (d as Record<string, unknown>)[k] === 'tools/call'))
      return true;
  }
  return false;
}
