/**
 * Stable error codes of the authz pipeline. Every deny carries one of these (or the TBIT_* / POLICY_*
 * code of the module that rejected); tests and operators match on codes (docs/authz.md §Codes).
 */
import { GrpcStatus, SigilError } from '../lib/errors.js';

/** Codes the authz module itself emits. */
export type AuthzErrorCode =
  /** CheckRequest lacks attributes.request.http (or another required attribute). */
  | 'AUTHZ_BAD_REQUEST'
  /** Too many headers, a header too long, or a bad header map. */
  | 'AUTHZ_HEADERS_TOO_LARGE'
  /** A header or body is not valid UTF-8 text where text is required. */
  | 'AUTHZ_INVALID_ENCODING'
  /** No token in the configured header. */
  | 'AUTHZ_NO_TOKEN'
  /** The token header is not `Bearer <token>` (RFC 6750 §2.1). */
  | 'AUTHZ_BAD_AUTH_HEADER'
  /** peer_binding=require and Envoy passed no source.principal. */
  | 'AUTHZ_PEER_REQUIRED'
  /** The leaf `sub` differs from the mTLS peer principal. */
  | 'AUTHZ_PEER_MISMATCH'
  /** No tool could be determined for a non-public route. */
  | 'AUTHZ_NO_TOOL'
  /** A requested tool is outside the leaf's tool_scope. */
  | 'AUTHZ_TOOL_NOT_IN_SCOPE'
  /** The body is not valid MCP JSON-RPC where one was expected. */
  | 'AUTHZ_BODY_INVALID'
  /** The body was truncated by Envoy (partial) and could not be parsed. */
  | 'AUTHZ_BODY_PARTIAL'
  /** The body exceeds authz.max_body_bytes. */
  | 'AUTHZ_BODY_TOO_LARGE'
  /** The policy denied without giving its own code. */
  | 'AUTHZ_POLICY_DENIED'
  /** The policy threw or timed out. */
  | 'AUTHZ_POLICY_ERROR'
  /** The ledger could not record the decision, so the answer is deny. */
  | 'AUTHZ_LEDGER_UNAVAILABLE'
  /** Any unexpected exception inside the pipeline. */
  | 'AUTHZ_INTERNAL';

/** HTTP status each code is answered with (the gRPC status follows from it: 401 → UNAUTHENTICATED, else PERMISSION_DENIED). */
export const AUTHZ_HTTP_STATUS: Readonly<Record<AuthzErrorCode, number>> = Object.freeze({
  AUTHZ_BAD_REQUEST: 400,
  AUTHZ_HEADERS_TOO_LARGE: 431,
  AUTHZ_INVALID_ENCODING: 400,
  AUTHZ_NO_TOKEN: 401,
  AUTHZ_BAD_AUTH_HEADER: 401,
  AUTHZ_PEER_REQUIRED: 401,
  AUTHZ_PEER_MISMATCH: 401,
  AUTHZ_NO_TOOL: 403,
  AUTHZ_TOOL_NOT_IN_SCOPE: 403,
  AUTHZ_BODY_INVALID: 400,
  AUTHZ_BODY_PARTIAL: 413,
  AUTHZ_BODY_TOO_LARGE: 413,
  AUTHZ_POLICY_DENIED: 403,
  AUTHZ_POLICY_ERROR: 503,
  AUTHZ_LEDGER_UNAVAILABLE: 503,
  AUTHZ_INTERNAL: 500,
});

/** An authz pipeline failure; becomes a deny, never a failed RPC. */
export class AuthzError extends SigilError<AuthzErrorCode> {
  constructor(code: AuthzErrorCode, message: string, cause?: unknown) {
    const http = AUTHZ_HTTP_STATUS[code];
    super(code, message, {
      http,
      grpc: http === 401 ? GrpcStatus.UNAUTHENTICATED : GrpcStatus.PERMISSION_DENIED,
      ...(cause === undefined ? {} : { cause }),
    });
  }
}
