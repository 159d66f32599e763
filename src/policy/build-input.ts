/**
 * Builds the policy input document exactly like opa-envoy-plugin's envoyauth.RequestToInput (ext_authz v3,
 * envoyauth/request.go and protomap.go; docs/policy.md §3):
 *   input.attributes        CheckRequest.attributes as the plugin's protomap writes it (JSON field names,
 *                           int64 and enums as numbers, Timestamp as {seconds, nanos}; not ProtoJSON)
 *   input.parsed_path       the path before the first '?', percent-decoded (url.PathUnescape), leading '/'s
 *                           trimmed, split on '/' ("//admin/x" → ["admin","x"]; "/a/" → ["a",""])
 *   input.parsed_query      url.ParseQuery of what follows the first '?' → {key: [values]}
 *   input.parsed_body       JSON, form or multipart body from `body` or `raw_body` (lib/request-body.ts)
 *   input.truncated_body    Envoy cut the body (x-envoy-auth-partial-body, or content-length > payload)
 *   input.source_principal  attributes.source.principal, when set
 *   input.version           {"encoding": "protojson", "ext_authz": "v3"}
 * plus SIGIL's `input.sigil`. Where the plugin's RequestToInput fails (bad escape, ';' in the query, bad
 * content-length, a body that does not parse) this throws POLICY_INPUT_INVALID, which denies with 400 as the
 * plugin does.
 */

import { createRegistry, fromJson, isMessage, type JsonValue } from '@bufbuild/protobuf';
import {
  AnySchema,
  BoolValueSchema,
  DurationSchema,
  StringValueSchema,
  StructSchema,
  TimestampSchema,
  UInt32ValueSchema,
  ValueSchema,
} from '@bufbuild/protobuf/wkt';
import { type CheckRequest, CheckRequestSchema } from '../../gen/envoy/service/auth/v3/external_auth_pb.js';
import type { PolicyContext, SigilPolicyInput } from './api.js';
import { PolicyError } from './errors.js';
import { parseQuery, pathUnescape } from './lib/go-url.js';
import { protomap } from './lib/protomap.js';
import { BodyError, parseRequestBody } from './lib/request-body.js';

/** The document a policy sees as `input`. */
export interface PolicyInput {
  attributes?: Record<string, unknown>;
  parsed_path: string[];
  parsed_query: Record<string, string[]>;
  parsed_body: unknown;
  truncated_body: boolean;
  source_principal?: string;
  version: { encoding: 'protojson'; ext_authz: 'v3' };
  sigil: SigilPolicyInput;
}

const bad = (msg: string, cause?: unknown) => new PolicyError('POLICY_INPUT_INVALID', msg, cause);

/** `parsed_path` and `parsed_query` as the plugin's getParsedPathAndQuery makes them from `http.path`. */
export function parsePathAndQuery(raw: string): { path: string[]; query: Record<string, string[]> } {
  const q = raw.indexOf('?');
  const rawPath = q === -1 ? raw : raw.slice(0, q);
  const decoded = pathUnescape(rawPath);
  if (decoded === undefined) {
    const at = rawPath.search(/%(?![0-9A-Fa-f]{2})/);
    throw bad(`request path: invalid URL escape ${JSON.stringify(rawPath.slice(at, at + 3))}`);
  }
  const parsed = parseQuery(q === -1 ? '' : raw.slice(q + 1));
  if (parsed.error !== undefined) throw bad(`request query: ${parsed.error}`);
  return { path: decoded.replace(/^\/+/, '').split('/'), query: parsed.values };
}

/** Well-known types a ProtoJSON `Any` (typed filter metadata) may name; others are an input error there. */
const WKT = createRegistry(
  AnySchema,
  BoolValueSchema,
  DurationSchema,
  StringValueSchema,
  StructSchema,
  TimestampSchema,
  UInt32ValueSchema,
  ValueSchema,
);

/** The CheckRequest as a message: the pipeline's, or one read from ProtoJSON (`sigil policy eval`). */
function checkRequest(req: PolicyContext['checkRequest']): CheckRequest {
  if (isMessage(req, CheckRequestSchema)) return req;
  try {
    return fromJson(CheckRequestSchema, req as JsonValue, { registry: WKT });
  } catch (e) {
    throw bad(`checkRequest is not a CheckRequest in ProtoJSON: ${(e as Error).message}`, e);
  }
}

/**
 * Turns the authz pipeline's context into the policy input. Throws POLICY_INPUT_INVALID where opa-envoy-plugin's
 * RequestToInput returns an error (bad path escape, bad content-length, unparsable JSON body).
 */
export function buildPolicyInput(ctx: PolicyContext): PolicyInput {
  const req = checkRequest(ctx.checkRequest);
  const doc = protomap(CheckRequestSchema, req) as { attributes?: Record<string, unknown> };
  const http = req.attributes?.request?.http;
  const { path, query } = parsePathAndQuery(http?.path ?? '');
  let body: { parsed: unknown; truncated: boolean };
  try {
    body = parseRequestBody(http?.headers ?? {}, http?.body ?? '', http?.rawBody ?? new Uint8Array());
  } catch (e) {
    if (e instanceof BodyError) throw bad(`request body: ${e.message}`, e);
    throw e;
  }
  const input: PolicyInput = {
    ...doc,
    version: { encoding: 'protojson', ext_authz: 'v3' },
    parsed_path: path,
    parsed_query: query,
    parsed_body: body.parsed,
    truncated_body: body.truncated,
    sigil: ctx.sigil,
  };
  const principal = req.attributes?.source?.principal;
  if (principal) input.source_principal = principal;
  return input;
}
