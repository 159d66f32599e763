/**
 * Stable error codes of the authz pipeline. Every deny carries one of these (or the TBIT_* / POLICY_*
 * code of the module that rejected); tests and operators match on codes (docs/authz.md §Codes).
 */
import { GrpcStatus, SigilError } from '../lib/errors.js';

/**
 * HTTP status of each code the authz module itself emits. The gRPC status follows from it: 401 →
 * UNAUTHENTICATED, else PERMISSION_DENIED.
 */
export const AUTHZ_HTTP_STATUS = Object.freeze({
  /** CheckRequest lacks attributes.request.http (or another required attribute). */
  AUTHZ_BAD_REQUEST: 400,
  /** Too many headers, a header too long, or a bad header map. */
  AUTHZ_HEADERS_TOO_LARGE: 431,
  /** A header or body is not valid UTF-8 text where text is required. */
  AUTHZ_INVALID_ENCODING: 400,
  /** No token in the configured header. */
  AUTHZ_NO_TOKEN: 401,
  /** The token header is not `Bearer <token>` (RFC 6750 §2.1). */
  AUTHZ_BAD_AUTH_HEADER: 401,
  /** peer_binding=require and Envoy passed no source.principal. */
  AUTHZ_PEER_REQUIRED: 401,
  /** The leaf `sub` differs from the mTLS peer principal. */
  AUTHZ_PEER_MISMATCH: 401,
  /** No tool could be determined for a non-public route. */
  AUTHZ_NO_TOOL: 403,
  /** A requested tool is outside the leaf's tool_scope. */
  AUTHZ_TOOL_NOT_IN_SCOPE: 403,
  /** The body is not valid MCP JSON-RPC where one was expected. */
  AUTHZ_BODY_INVALID: 400,
  /** The body was truncated (Envoy's partial flag or short of content-length) and may hide a call. */
  AUTHZ_BODY_PARTIAL: 413,
  /** The body is compressed (Content-/Transfer-Encoding) or in a charset SIGIL cannot decode: uninspectable. */
  AUTHZ_UNSUPPORTED_ENCODING: 415,
  /** The JSON body nests deeper than the inspection limit (checked before parsing). */
  AUTHZ_BODY_TOO_DEEP: 400,
  /** The JSON body holds more objects, arrays and members than the inspection limit (checked before parsing). */
  AUTHZ_BODY_TOO_COMPLEX: 400,
  /** The body exceeds authz.max_body_bytes. */
  AUTHZ_BODY_TOO_LARGE: 413,
  /** authz.proof (or an override) is `require` and the request has no Workload-Proof-Token (docs/proof.md §7). */
  AUTHZ_PROOF_MISSING: 401,
  /** The proof is malformed, has the wrong typ/alg, an extra member or claim, or is not signed by the leaf's cnf key. */
  AUTHZ_PROOF_INVALID: 401,
  /** The proof's iat is outside the window (old or in the future), its exp passed, or its lifetime is too long. */
  AUTHZ_PROOF_EXPIRED: 401,
  /** The proof binds another token (wth), method, target URI, query or body than this request. */
  AUTHZ_PROOF_MISMATCH: 401,
  /** The proof's jti was already used within its window: a replay. */
  AUTHZ_PROOF_REPLAYED: 401,
  /** The replay cache is full of live entries: denied rather than evicting one (fail closed; ours, transient). */
  AUTHZ_PROOF_CACHE_FULL: 503,
  /** The replay cache shared by the Check workers (the primary's) did not answer: denied (fail closed; transient). */
  AUTHZ_PROOF_CACHE_UNAVAILABLE: 503,
  /** The policy denied without giving its own code. */
  AUTHZ_POLICY_DENIED: 403,
  /** The policy threw or timed out. */
  AUTHZ_POLICY_ERROR: 503,
  /** The ledger could not record the decision, so the answer is deny. */
  AUTHZ_LEDGER_UNAVAILABLE: 503,
  /** Any unexpected exception inside the pipeline. */
  AUTHZ_INTERNAL: 500,
});

/** Codes the authz module itself emits. */
export type AuthzErrorCode = keyof typeof AUTHZ_HTTP_STATUS;

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
