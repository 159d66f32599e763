/**
 * Builds the policy input document exactly like opa-envoy-plugin's envoyauth.RequestToInput (ext_authz v3):
 *   input.attributes      CheckRequest.attributes as ProtoJSON (lowerCamelCase, int64 as strings, RFC 3339 times)
 *   input.parsed_path     the URL path (Go url.Parse semantics: unescaped, query/fragment removed) split on "/"
 *   input.parsed_query    query string → {key: [values]} (Go url.Values semantics)
 *   input.parsed_body     JSON body when content-type contains application/json, else null
 *   input.truncated_body  true when content-length says Envoy cut the body short
 *   input.version         {"encoding": "protojson", "ext_authz": "v3"}
 * plus SIGIL's `input.sigil` (docs/policy.md §3).
 */
import { clone, fromJson, isMessage, type JsonObject, type JsonValue, toJson } from '@bufbuild/protobuf';
import type { Metadata } from '../../gen/envoy/config/core/v3/base_pb.js';
import { type CheckRequest, CheckRequestSchema } from '../../gen/envoy/service/auth/v3/external_auth_pb.js';
import type { PolicyContext, SigilPolicyInput } from './api.js';
import { PolicyError } from './errors.js';
import { percentDecode, queryUnescape } from './lib/builtins.js';

/** The document a policy sees as `input`. */
export interface PolicyInput {
  attributes: Record<string, unknown>;
  parsed_path: string[];
  parsed_query: Record<string, string[]>;
  parsed_body: unknown;
  truncated_body: boolean;
  version: { encoding: 'protojson'; ext_authz: 'v3' };
  sigil: SigilPolicyInput;
}

const bad = (msg: string) => new PolicyError('POLICY_INPUT_INVALID', msg);

/** Go url.PathUnescape-style decoding of a path (encodePath mode: '+' stays '+'); throws on a bad escape. */
function unescapePath(p: string): string {
  const out = percentDecode(p, false);
  if (out === undefined) throw bad(`request path has an invalid escape: ${JSON.stringify(p.slice(0, 200))}`);
  return out;
}

/**
 * `parsed_path` and `parsed_query` as Go's url.Parse + URL.Query give them (RFC 3986 §3 split of path-abempty,
 * query and fragment). Control characters make url.Parse fail, so they are an input error here too.
 */
export function parsePathAndQuery(raw: string): { path: string[]; query: Record<string, string[]> } {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\x00-\x1f\x7f]/.test(raw)) throw bad('request path contains a control character');
  let rest = raw;
  const hash = rest.indexOf('#');
  if (hash !== -1) rest = rest.slice(0, hash);
  let rawQuery = '';
  const q = rest.indexOf('?');
  if (q !== -1) {
    rawQuery = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  // "//host/x" is a network-path reference (RFC 3986 §4.2): url.Parse takes "host" as the authority.
  if (rest.startsWith('//') && !rest.startsWith('///')) {
    const slash = rest.indexOf('/', 2);
    rest = slash === -1 ? '' : rest.slice(slash);
  }
  const path = unescapePath(rest).replace(/^\/+/, '').split('/');
  const query: Record<string, string[]> = {};
  for (const pair of rawQuery.split('&')) {
    if (pair === '' || pair.includes(';')) continue; // url.Values drops these (with an error url.Query ignores)
    const eq = pair.indexOf('=');
    const k = queryUnescape(eq === -1 ? pair : pair.slice(0, eq));
    const v = queryUnescape(eq === -1 ? '' : pair.slice(eq + 1));
    if (k === undefined || v === undefined) continue;
    if (!Object.hasOwn(query, k)) query[k] = [];
    query[k]!.push(v);
  }
  return { path, query };
}

/** opa-envoy-plugin getParsedBody for JSON bodies: [parsed, truncated]. */
function parseBody(headers: Record<string, unknown>, body: unknown): [unknown, boolean] {
  const ct = headers['content-type'];
  if (typeof ct !== 'string' || !ct.includes('application/json')) return [null, false];
  if (typeof body !== 'string' || body === '') return [null, false];
  const cl = headers['content-length'];
  if (typeof cl === 'string') {
    if (!/^[+-]?\d{1,19}$/.test(cl))
      throw bad(`content-length ${JSON.stringify(cl.slice(0, 40))} is not an integer`);
    const n = Number(cl);
    if (n !== -1 && n > Buffer.byteLength(body, 'utf8')) return [null, true];
  }
  try {
    return [JSON.parse(body), false];
  } catch (e) {
    throw bad(`JSON request body does not parse: ${(e as Error).message}`);
  }
}

/**
 * ProtoJSON of the request as Go's protojson.Marshal writes it (lowerCamelCase names, int64 as strings, bytes
 * base64, Timestamp RFC 3339, zero values left out). A request given as JSON is read as ProtoJSON first, so it
 * comes out canonical. JSON that is not a CheckRequest, or a value ProtoJSON cannot express (a Timestamp out of
 * range), is an input error, as protojson.Marshal's error is in opa-envoy-plugin.
 */
function protoJson(req: PolicyContext['checkRequest']): JsonObject {
  try {
    const msg = isMessage(req, CheckRequestSchema) ? req : fromJson(CheckRequestSchema, req as JsonValue);
    return withTypedMetadata(msg);
  } catch (e) {
    throw bad(`checkRequest has no ProtoJSON form: ${(e as Error).message}`);
  }
}

const METADATA = ['metadataContext', 'routeMetadataContext'] as const;

/**
 * ProtoJSON of `msg`, with `typedFilterMetadata` (google.protobuf.Any, whose packed types SIGIL does not
 * register) rendered as `{"@type", "value": base64}` rather than failing (docs/policy.md §12).
 */
function withTypedMetadata(msg: CheckRequest): JsonObject {
  const typed = METADATA.map((k) => msg.attributes?.[k]?.typedFilterMetadata ?? {});
  if (typed.every((t) => Object.keys(t).length === 0)) return toJson(CheckRequestSchema, msg) as JsonObject;
  const plain = clone(CheckRequestSchema, msg);
  for (const k of METADATA)
    if (plain.attributes?.[k]) (plain.attributes[k] as Metadata).typedFilterMetadata = {};
  const json = toJson(CheckRequestSchema, plain) as { attributes: Record<string, JsonObject> };
  METADATA.forEach((k, i) => {
    const entries = Object.entries(typed[i]!);
    if (entries.length === 0) return;
    json.attributes[k] ??= {};
    json.attributes[k].typedFilterMetadata = Object.fromEntries(
      entries.map(([name, any]) => [
        name,
        { '@type': any.typeUrl, value: Buffer.from(any.value).toString('base64') },
      ]),
    );
  });
  return json as JsonObject;
}

/**
 * Turns the authz pipeline's context into the policy input. Throws POLICY_INPUT_INVALID where opa-envoy-plugin's
 * RequestToInput returns an error (bad path escape, bad content-length, unparsable JSON body).
 */
export function buildPolicyInput(ctx: PolicyContext): PolicyInput {
  const attributes = (protoJson(ctx.checkRequest).attributes as JsonObject | undefined) ?? {};
  const http = (attributes.request as JsonObject | undefined)?.http as JsonObject | undefined;
  const { path, query } = parsePathAndQuery(typeof http?.path === 'string' ? http.path : '');
  const headers = (http?.headers as JsonObject | undefined) ?? {};
  const [parsedBody, truncated] = parseBody(headers, http?.body);
  return {
    attributes,
    parsed_path: path,
    parsed_query: query,
    parsed_body: parsedBody,
    truncated_body: truncated,
    version: { encoding: 'protojson', ext_authz: 'v3' },
    sigil: ctx.sigil,
  };
}
