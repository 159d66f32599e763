/**
 * Stable error codes of the issuer module (key store, revocation store, issuer endpoint).
 * Token-rule failures keep the token module's `TBIT_*` codes; these cover everything around them.
 */
import { GrpcStatus, type GrpcStatusCode, SigilError } from '../lib/errors.js';

/** Every stable code of src/issuer (documented in docs/api.md and docs/keys.md): its gRPC and HTTP status. */
const PROTOCOL = {
  /** Mint called but no operator credential is configured: Mint is never open by default. */
  ISSUER_MINT_DISABLED: [GrpcStatus.PERMISSION_DENIED, 403],
  /** Revoke called over the network but no operator credential is configured. */
  ISSUER_REVOKE_DISABLED: [GrpcStatus.PERMISSION_DENIED, 403],
  /** Operator credential missing or wrong. */
  ISSUER_UNAUTHORIZED: [GrpcStatus.UNAUTHENTICATED, 401],
  /** Delegate: the presented chain's leaf `cnf` is not a key this sidecar holds. */
  ISSUER_NOT_HOLDER: [GrpcStatus.PERMISSION_DENIED, 403],
  /** Delegate: the presented chain's leaf has no `cnf`, so nobody may delegate from it. */
  ISSUER_NOT_DELEGABLE: [GrpcStatus.PERMISSION_DENIED, 403],
  /** Request body failed validation (wrong types, missing fields, bad SPIFFE ID, bad JWK). */
  ISSUER_BAD_REQUEST: [GrpcStatus.INVALID_ARGUMENT, 400],
  /** Request body is not JSON. */
  ISSUER_BAD_JSON: [GrpcStatus.INVALID_ARGUMENT, 400],
  /** Request body over the limit (64 KiB). */
  ISSUER_BODY_TOO_LARGE: [GrpcStatus.RESOURCE_EXHAUSTED, 413],
  /** Content-Type is not application/json. */
  ISSUER_UNSUPPORTED_MEDIA_TYPE: [GrpcStatus.INVALID_ARGUMENT, 415],
  /** No such route. */
  ISSUER_NOT_FOUND: [GrpcStatus.NOT_FOUND, 404],
  /** Route exists, method does not. */
  ISSUER_METHOD_NOT_ALLOWED: [GrpcStatus.UNIMPLEMENTED, 405],
  /** A key or revocation file in the data dir is unreadable or corrupt (fail closed). */
  ISSUER_STORE_CORRUPT: [GrpcStatus.DATA_LOSS, 500],
  /** Another process holds the data-dir lock (async paths wait for it first). */
  ISSUER_STORE_BUSY: [GrpcStatus.UNAVAILABLE, 503],
  /**
   * A revocation was written but not confirmed in force in every Check worker (docs/workers.md §2): retry; the
   * revocation itself is on disk and in force in the primary.
   */
  ISSUER_NOT_IN_FORCE: [GrpcStatus.UNAVAILABLE, 503],
  /** Unexpected failure; details only in logs. */
  ISSUER_INTERNAL: [GrpcStatus.INTERNAL, 500],
} as const satisfies Record<string, readonly [GrpcStatusCode, number]>;

/** Stable codes raised by src/issuer. */
export type IssuerErrorCode = keyof typeof PROTOCOL;

/** Error raised by the issuer module; `code` is one of {@link IssuerErrorCode}. */
export class IssuerError extends SigilError<IssuerErrorCode> {
  constructor(code: IssuerErrorCode, message: string, cause?: unknown) {
    const [grpc, http] = PROTOCOL[code];
    super(code, message, { grpc, http, ...(cause === undefined ? {} : { cause }) });
  }
}
