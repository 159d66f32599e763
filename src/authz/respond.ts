/**
 * Step 6: the decision's ledger record and the CheckResponse (envoy.service.auth.v3, external_auth.proto).
 * A deny is always a successful RPC carrying a non-OK google.rpc.Status and a DeniedHttpResponse; Envoy then
 * answers the client itself.
 */
import { create, type JsonObject, type JsonValue, type MessageInitShape } from '@bufbuild/protobuf';
import {
  HeaderValueOption_HeaderAppendAction as Append,
  type HeaderValueOptionSchema,
} from '../../gen/envoy/config/core/v3/base_pb.js';
import { type CheckResponse, CheckResponseSchema } from '../../gen/envoy/service/auth/v3/external_auth_pb.js';
import type { DecisionRecord } from '../ledger/record.js';
import { GrpcStatus, SigilError } from '../lib/errors.js';
import type { HeaderEntry } from '../policy/api.js';
import { AuthzError } from './errors.js';

/** Headers SIGIL sets for the upstream; clients must never be able to supply them. */
export const SIGIL_HEADER_PREFIX = 'x-sigil-';

type HeaderInit = MessageInitShape<typeof HeaderValueOptionSchema>;

/** Overwriting options of every header in `h`. A for-in loop: Object.entries allocates a pair per header (hot path). */
function setAll(h: Record<string, string>): HeaderInit[] {
  const out: HeaderInit[] = [];
  for (const k in h) {
    if (!Object.hasOwn(h, k)) continue;
    // Overwrite, never append: a client-supplied x-sigil-sub must not survive next to ours.
    out.push({ header: { key: k, value: h[k] as string }, appendAction: Append.OVERWRITE_IF_EXISTS_OR_ADD });
  }
  return out;
}

/** A policy's headers as opa-envoy-plugin sends them: each as given, no append action set (Envoy's default). */
function asGiven(list: readonly HeaderEntry[] | undefined): HeaderInit[] {
  return list ? list.map((h) => ({ header: { key: h.key, value: h.value } })) : [];
}

/** A JSON value, or undefined when `v` is none (a custom decider is not typed at run time). */
function json(v: unknown, depth = 0): JsonValue | undefined {
  if (typeof v === 'string' || typeof v === 'boolean' || v === null) return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (depth > 64 || typeof v !== 'object') return undefined;
  if (Array.isArray(v)) return v.map((x) => json(x, depth + 1) ?? null);
  const out: JsonObject = {};
  for (const k in v) {
    const x = Object.hasOwn(v, k) ? json((v as Record<string, unknown>)[k], depth + 1) : undefined;
    if (x !== undefined) out[k] = x;
  }
  return out;
}

/**
 * CheckResponse.dynamic_metadata (a google.protobuf.Struct): the policy's object as structpb.NewStruct takes it
 * (nested values kept), then SIGIL's fields (`decision_id`, on a deny `code`), which win.
 */
function metadata(extra: Record<string, unknown> | undefined, own: Record<string, string>): JsonObject {
  const out = (
    typeof extra === 'object' && extra !== null && !Array.isArray(extra) ? json(extra) : {}
  ) as JsonObject;
  for (const k in own) out[k] = own[k]!;
  return out;
}

/** Inputs of an allow. */
export interface AllowParts {
  decisionId: string;
  /** SIGIL's headers for the upstream (x-sigil-sub, …), set with overwrite. */
  upstream: Record<string, string>;
  /** The policy's headers for the upstream, as given (after SIGIL's filter). */
  policyHeaders?: HeaderEntry[];
  /** Request headers to drop before the upstream (bearer token, spoofed x-sigil-*, the policy's list). */
  remove: string[];
  /** SIGIL's headers for the downstream caller (x-sigil-receipt, …), set with overwrite. */
  downstream: Record<string, string>;
  /** The policy's `response_headers_to_add`, as given. */
  downstreamPolicy?: HeaderEntry[];
  /** OkHttpResponse.query_parameters_to_set (field 7) and query_parameters_to_remove (field 8). */
  queryToSet?: HeaderEntry[];
  queryToRemove?: string[];
  dynamicMetadata?: Record<string, unknown>;
}

/**
 * CheckResponse allowing the request. An `x-sigil-*` header SIGIL sets is never also removed: Envoy applies
 * `headers_to_remove` after `headers`, so a client-sent `x-sigil-receipt: fake` would otherwise strip the
 * receipt SIGIL set (docs/authz.md §6: SIGIL's headers overwrite the client's). A policy's own headers keep
 * Envoy's order (set, then remove), as under opa-envoy-plugin.
 */
export function allowResponse(p: AllowParts): CheckResponse {
  return create(CheckResponseSchema, {
    status: { code: GrpcStatus.OK, message: '' },
    httpResponse: {
      case: 'okResponse',
      value: {
        headers: [...asGiven(p.policyHeaders), ...setAll(p.upstream)],
        headersToRemove: p.remove.filter(
          (k) => !(k.startsWith(SIGIL_HEADER_PREFIX) && Object.hasOwn(p.upstream, k)),
        ),
        responseHeadersToAdd: [...asGiven(p.downstreamPolicy), ...setAll(p.downstream)],
        queryParametersToSet: p.queryToSet ?? [],
        queryParametersToRemove: p.queryToRemove ?? [],
      },
    },
    dynamicMetadata: metadata(p.dynamicMetadata, { decision_id: p.decisionId }),
  });
}

/** Inputs of a deny. */
export interface DenyParts {
  decisionId: string;
  code: string;
  message: string;
  httpStatus: number;
  /** SIGIL's extra response headers for the client (e.g. its WWW-Authenticate challenge), set with overwrite. */
  headers?: Record<string, string>;
  /** A policy deny's headers, as given (after SIGIL's filter). Marks the deny as the policy's own. */
  policyHeaders?: HeaderEntry[];
  /** Replaces the JSON body (policy-provided). */
  body?: string;
  dynamicMetadata?: Record<string, unknown>;
}

/** CheckResponse denying the request with an HTTP status and a JSON body `{error, code, decision_id}`. */
export function denyResponse(p: DenyParts): CheckResponse {
  // SIGIL's own JSON body says what it is; a policy's body goes out with the policy's headers only.
  const headers: Record<string, string> = {
    ...p.headers,
    ...(p.body === undefined ? { 'content-type': 'application/json' } : {}),
    'x-sigil-decision-id': p.decisionId,
  };
  return create(CheckResponseSchema, {
    status: {
      code: p.httpStatus === 401 ? GrpcStatus.UNAUTHENTICATED : GrpcStatus.PERMISSION_DENIED,
      message: p.code,
    },
    httpResponse: {
      case: 'deniedResponse',
      value: {
        // envoy.type.v3.StatusCode is an open enum: the status the pipeline picked goes on the wire as is.
        status: { code: p.httpStatus },
        headers: [...asGiven(p.policyHeaders), ...setAll(headers)],
        body: p.body ?? JSON.stringify({ error: p.message, code: p.code, decision_id: p.decisionId }),
      },
    },
    dynamicMetadata: metadata(p.dynamicMetadata, { code: p.code, decision_id: p.decisionId }),
  });
}

/** A deny as the pipeline carries it until the answer is built. */
export type Deny = Omit<DenyParts, 'decisionId'>;

/** What the pipeline decided: an allow's parts, or a {@link Deny} (the one with a `code`). */
export type Outcome = AllowParts | Deny;

/** A SigilError as a deny; an HTTP status outside 4xx/5xx becomes 403. */
function fromError(e: SigilError): Deny {
  const http = e.httpStatus >= 400 && e.httpStatus <= 599 ? e.httpStatus : 403;
  return { code: e.code, message: e.message, httpStatus: http };
}

/** The deny for a failure that is not a SigilError. */
export const INTERNAL: Deny = Object.freeze(fromError(new AuthzError('AUTHZ_INTERNAL', 'internal error')));

/** The deny an allow becomes when the ledger did not record it. */
export const LEDGER_UNAVAILABLE: Deny = Object.freeze(
  fromError(new AuthzError('AUTHZ_LEDGER_UNAVAILABLE', 'the audit ledger could not record the decision')),
);

/** The deny for anything a step threw: a SigilError keeps its code, anything else is AUTHZ_INTERNAL. */
export function toDeny(e: unknown): Deny {
  return e instanceof SigilError ? fromError(e) : INTERNAL;
}

/**
 * A deny record to fill as the steps learn things. Every field up front (undefined = absent: the ledger skips
 * them): one object shape for all records, no property-array growth as the pipeline fills them in.
 */
export function openRecord(id: string, ts: number): DecisionRecord {
  return {
    v: 1,
    id,
    ts,
    decision: 'deny',
    code: 'AUTHZ_INTERNAL',
    http_status: 500,
    method: undefined,
    host: undefined,
    path: undefined,
    peer: undefined,
    token_hash: undefined,
    sub: undefined,
    task_id: undefined,
    depth: undefined,
    tool: undefined,
    chain: undefined,
    policy_rev: undefined,
    pop: undefined,
  };
}

/** Writes the outcome into the record: decision, code and HTTP status. */
export function settle(record: DecisionRecord, outcome: Outcome): void {
  const deny = 'code' in outcome ? outcome : undefined;
  record.decision = deny ? 'deny' : 'allow';
  record.code = deny ? deny.code : 'OK';
  record.http_status = deny ? deny.httpStatus : 200;
}

/**
 * RFC 6750 §3: challenge for SIGIL's own 401s, insufficient_scope for scope denials. A policy's deny carries the
 * policy's headers only (its own WWW-Authenticate, or none), as under opa-envoy-plugin.
 */
function challenge(d: Deny): Record<string, string> | undefined {
  if (d.policyHeaders !== undefined) return undefined;
  if (d.httpStatus === 401) {
    if (d.code === 'AUTHZ_NO_TOKEN') return { 'www-authenticate': 'Bearer realm="sigil"' };
    return { 'www-authenticate': 'Bearer realm="sigil", error="invalid_token"' };
  }
  if (d.code === 'AUTHZ_TOOL_NOT_IN_SCOPE' || d.code === 'TBIT_AUDIENCE_MISMATCH') {
    return { 'www-authenticate': 'Bearer realm="sigil", error="insufficient_scope"' };
  }
  return undefined;
}

/** The answer to Envoy for a recorded outcome; `receipt` is the ledger's, and an allow always has one. */
export function respond(decisionId: string, outcome: Outcome, receipt: string | undefined): CheckResponse {
  if ('code' in outcome) {
    return denyResponse({
      ...outcome,
      decisionId,
      headers: {
        ...outcome.headers,
        ...challenge(outcome),
        ...(receipt ? { 'x-sigil-receipt': receipt } : {}),
      },
      body: outcome.code === 'AUTHZ_LEDGER_UNAVAILABLE' ? undefined : outcome.body,
    });
  }
  outcome.downstream['x-sigil-receipt'] = receipt!;
  outcome.upstream['x-sigil-receipt'] = receipt!;
  return allowResponse(outcome);
}
