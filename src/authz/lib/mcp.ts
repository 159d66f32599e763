/**
 * MCP JSON-RPC body inspection (MCP spec, basic/transports "Streamable HTTP"; JSON-RPC 2.0 §4, §6 batch).
 * Finds every `tools/call` and its `params.name`. Fails closed: anything that looks like JSON but is not
 * well-formed JSON-RPC is an error, never "no tool".
 */
import { AuthzError } from '../errors.js';
import { hasDuplicateKeys } from './json-duplicates.js';
import { LIMITS } from './limits.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

const NONE: readonly string[] = Object.freeze([]);

function isJsonContentType(ct: string | undefined): boolean {
  if (!ct) return false;
  const mt = ct.split(';', 1)[0]!.trim().toLowerCase();
  return mt === 'application/json' || mt.endsWith('+json');
}

function toolOf(msg: unknown): string | undefined {
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
    throw new AuthzError('AUTHZ_BODY_INVALID', 'JSON-RPC message must be an object');
  }
  const m = msg as Record<string, unknown>;
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
  const name = (params as Record<string, unknown>).name;
  if (typeof name !== 'string' || name.length === 0 || name.length > LIMITS.maxToolName) {
    throw new AuthzError('AUTHZ_BODY_INVALID', 'tools/call params.name must be a non-empty string');
  }
  return name;
}

/**
 * The tools/call names of a request body; none when it is not JSON-RPC or has no tools/call. The body is
 * inspected whatever its content-type when it starts like JSON: an MCP server may ignore content-type, so a
 * mislabelled call must not slip past.
 */
export function mcpTools(
  body: string | Uint8Array | undefined,
  contentType: string | undefined,
  partial: boolean,
): readonly string[] {
  if (body === undefined) return NONE;
  let text: string;
  if (typeof body === 'string') {
    // The protobuf decoder replaces invalid UTF-8 in string fields by U+FFFD: treat that as undecodable.
    if (body.includes('\uFFFD') && isJsonContentType(contentType)) {
      throw new AuthzError('AUTHZ_INVALID_ENCODING', 'request body is not valid UTF-8');
    }
    text = body;
  } else {
    try {
      text = utf8.decode(body);
    } catch (e) {
      if (isJsonContentType(contentType))
        throw new AuthzError('AUTHZ_INVALID_ENCODING', 'request body is not valid UTF-8', e);
      return NONE;
    }
  }
  const start = text.trimStart()[0];
  const looksJson = start === '{' || start === '[';
  if (!looksJson && !isJsonContentType(contentType)) return NONE;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    const why = 'request body was truncated by Envoy and cannot be inspected';
    if (partial) throw new AuthzError('AUTHZ_BODY_PARTIAL', why, e);
    throw new AuthzError('AUTHZ_BODY_INVALID', 'request body is not valid JSON', e);
  }
  // One message or a batch; the batch bound is checked only once the body is known to be JSON-RPC.
  const messages: unknown[] = Array.isArray(doc) ? doc : [doc];
  if (!messages.some(isRpc)) return NONE;
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

/** A tools/call without "jsonrpc" is still treated as JSON-RPC (and then refused): a lenient server might run it. */
function isRpc(d: unknown): boolean {
  if (typeof d !== 'object' || d === null || Array.isArray(d)) return false;
  return 'jsonrpc' in d || (d as Record<string, unknown>).method === 'tools/call';
}
