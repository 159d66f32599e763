/**
 * Step 6: the decision's ledger record and the CheckResponse (envoy.service.auth.v3, external_auth.proto).
 * A deny is always a successful RPC carrying a non-OK google.rpc.Status and a DeniedHttpResponse; Envoy then
 * answers the client itself.
 */
import { create, type JsonObject, type MessageInitShape } from '@bufbuild/protobuf';
import {
  HeaderValueOption_HeaderAppendAction as Append,
  type HeaderValueOptionSchema,
} from '../../gen/envoy/config/core/v3/base_pb.js';
import { type CheckResponse, CheckResponseSchema } from '../../gen/envoy/service/auth/v3/external_auth_pb.js';
import type { DecisionRecord } from '../ledger/record.js';
import { GrpcStatus, SigilError } from '../lib/errors.js';
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

/**
 * CheckResponse.dynamic_metadata (a google.protobuf.Struct): the extra scalar fields, then the decision id.
 * A custom decider is not typed at run time, so anything but a string, number or boolean is left out.
 */
function metadata(decisionId: string, extra?: Record<string, string | number | boolean>): JsonObject {
  const out: JsonObject = {};
  for (const k in extra) {
    const v: unknown = extra[k];
    if (Object.hasOwn(extra, k) && (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'))
      out[k] = v;
  }
  out.decision_id = decisionId;
  return out;
}

/** Inputs of an allow. */
export interface AllowParts {
  decisionId: string;
  /** Headers for the upstream (x-sigil-sub, …), set with overwrite. */
  upstream: Record<string, string>;
  /** Request headers to drop before the upstream (bearer token, spoofed x-sigil-*, the policy's list). */
  remove: string[];
  /** Headers for the downstream caller (x-sigil-receipt, …). */
  downstream: Record<string, string>;
  dynamicMetadata?: Record<string, string | number | boolean>;
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
        headers: setAll(p.upstream),
        headersToRemove: p.remove.filter(
          (k) => !(k.startsWith(SIGIL_HEADER_PREFIX) && Object.hasOwn(p.upstream, k)),
        ),
        responseHeadersToAdd: setAll(p.downstream),
      },
    },
    dynamicMetadata: metadata(p.decisionId, p.dynamicMetadata),
  });
}

/** Inputs of a deny. */
export interface DenyParts {
  decisionId: string;
  code: string;
  message: string;
  httpStatus: number;
  /** Extra response headers for the client (e.g. WWW-Authenticate). */
  headers?: Record<string, string>;
  /** Replaces the JSON body (policy-provided). */
  body?: string;
  dynamicMetadata?: Record<string, string | number | boolean>;
}

/** CheckResponse denying the request with an HTTP status and a JSON body `{error, code, decision_id}`. */
export function denyResponse(p: DenyParts): CheckResponse {
  const headers: Record<string, string> = {
    ...p.headers,
    'content-type': p.body === undefined ? 'application/json' : (p.headers?.['content-type'] ?? 'text/plain'),
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
        // envoy.type.v3.StatusCode is an open enum: any 4xx/5xx the pipeline picked goes on the wire as is.
        status: { code: p.httpStatus },
        headers: setAll(headers),
        body: p.body ?? JSON.stringify({ error: p.message, code: p.code, decision_id: p.decisionId }),
      },
    },
    dynamicMetadata: metadata(p.decisionId, { ...p.dynamicMetadata, code: p.code }),
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
  };
}

/** Writes the outcome into the record: decision, code and HTTP status. */
export function settle(record: DecisionRecord, outcome: Outcome): void {
  const deny = 'code' in outcome ? outcome : undefined;
  record.decision = deny ? 'deny' : 'allow';
  record.code = deny ? deny.code : 'OK';
  record.http_status = deny ? deny.httpStatus : 200;
}

/** RFC 6750 §3: challenge for 401s, insufficient_scope for scope denials. */
function challenge(d: Deny): Record<string, string> | undefined {
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
