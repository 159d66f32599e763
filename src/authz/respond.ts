/**
 * CheckResponse builders (envoy.service.auth.v3, external_auth.proto). A deny is always a successful RPC
 * carrying a non-OK google.rpc.Status and a DeniedHttpResponse; Envoy then answers the client itself.
 */
import { GrpcStatus } from '../lib/errors.js';
import type { CheckResponse, HeaderValueOption, ProtoStruct } from './types.js';

/** Headers SIGIL sets for the upstream; clients must never be able to supply them. */
export const SIGIL_HEADER_PREFIX = 'x-sigil-';

const set = (key: string, value: string): HeaderValueOption => ({
  header: { key, value },
  // Overwrite, never append: a client-supplied x-sigil-sub must not survive next to ours.
  appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD',
});

/** Overwriting options of every header in `h`. A for-in loop: Object.entries allocates a pair per header (hot path). */
function setAll(h: Record<string, string>): HeaderValueOption[] {
  const out: HeaderValueOption[] = [];
  for (const k in h) if (Object.hasOwn(h, k)) out.push(set(k, h[k] as string));
  return out;
}

function metadata(decisionId: string, extra?: Record<string, string | number | boolean>): ProtoStruct {
  const fields: NonNullable<ProtoStruct['fields']> = {};
  if (extra) {
    for (const k in extra) {
      if (!Object.hasOwn(extra, k)) continue;
      const v = extra[k] as string | number | boolean;
      fields[k] =
        typeof v === 'string'
          ? { stringValue: v }
          : typeof v === 'number'
            ? { numberValue: v }
            : { boolValue: v };
    }
  }
  fields.decision_id = { stringValue: decisionId };
  return { fields };
}

/** Inputs of an allow. */
export interface AllowParts {
  decisionId: string;
  /** Headers for the upstream (x-sigil-sub, …), set with overwrite. */
  upstream: Record<string, string>;
  /** Request headers to drop before the upstream (bearer token, spoofed x-sigil-*). */
  remove: string[];
  /** Headers for the downstream caller (x-sigil-receipt, …). */
  downstream: Record<string, string>;
  dynamicMetadata?: Record<string, string | number | boolean>;
}

/** CheckResponse allowing the request. */
export function allowResponse(p: AllowParts): CheckResponse {
  return {
    status: { code: GrpcStatus.OK, message: '' },
    okResponse: {
      headers: setAll(p.upstream),
      headersToRemove: p.remove,
      responseHeadersToAdd: setAll(p.downstream),
    },
    dynamicMetadata: metadata(p.decisionId, p.dynamicMetadata),
  };
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
  return {
    status: {
      code: p.httpStatus === 401 ? GrpcStatus.UNAUTHENTICATED : GrpcStatus.PERMISSION_DENIED,
      message: p.code,
    },
    deniedResponse: {
      status: { code: p.httpStatus },
      headers: setAll(headers),
      body: p.body ?? JSON.stringify({ error: p.message, code: p.code, decision_id: p.decisionId }),
    },
    dynamicMetadata: metadata(p.decisionId, { ...p.dynamicMetadata, code: p.code }),
  };
}
