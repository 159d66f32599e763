/**
 * Stable error codes of the issuer module (key store, revocation store, issuer endpoint).
 * Token-rule failures keep the token module's `TBIT_*` codes; these cover everything around them.
 */
import { GrpcStatus, type GrpcStatusCode, SigilError } from '../lib/errors.js';

/** Stable codes raised by src/issuer (documented in docs/api.md and docs/keys.md). */
export type IssuerErrorCode =
  /** Mint called but no operator credential is configured: Mint is never open by default. */
  | 'ISSUER_MINT_DISABLED'
  /** Revoke called over the network but no operator credential is configured. */
  | 'ISSUER_REVOKE_DISABLED'
  /** Operator credential missing or wrong. */
  | 'ISSUER_UNAUTHORIZED'
  /** Delegate: the presented chain's leaf `cnf` is not a key this sidecar holds. */
  | 'ISSUER_NOT_HOLDER'
  /** Delegate: the presented chain's leaf has no `cnf`, so nobody may delegate from it. */
  | 'ISSUER_NOT_DELEGABLE'
  /** Request body failed validation (wrong types, missing fields, bad SPIFFE ID, bad JWK). */
  | 'ISSUER_BAD_REQUEST'
  /** Request body is not JSON. */
  | 'ISSUER_BAD_JSON'
  /** Request body over the limit (64 KiB). */
  | 'ISSUER_BODY_TOO_LARGE'
  /** Content-Type is not application/json. */
  | 'ISSUER_UNSUPPORTED_MEDIA_TYPE'
  /** No such route. */
  | 'ISSUER_NOT_FOUND'
  /** Route exists, method does not. */
  | 'ISSUER_METHOD_NOT_ALLOWED'
  /** A key or revocation file in the data dir is unreadable or corrupt (fail closed). */
  | 'ISSUER_STORE_CORRUPT'
  /** Could not take the data-dir lock in time. */
  | 'ISSUER_STORE_BUSY'
  /** Unexpected failure; details only in logs. */
  | 'ISSUER_INTERNAL';

const PROTOCOL: Record<IssuerErrorCode, [GrpcStatusCode, number]> = {
  ISSUER_MINT_DISABLED: [GrpcStatus.PERMISSION_DENIED, 403],
  ISSUER_REVOKE_DISABLED: [GrpcStatus.PERMISSION_DENIED, 403],
  ISSUER_UNAUTHORIZED: [GrpcStatus.UNAUTHENTICATED, 401],
  ISSUER_NOT_HOLDER: [GrpcStatus.PERMISSION_DENIED, 403],
  ISSUER_NOT_DELEGABLE: [GrpcStatus.PERMISSION_DENIED, 403],
  ISSUER_BAD_REQUEST: [GrpcStatus.INVALID_ARGUMENT, 400],
  ISSUER_BAD_JSON: [GrpcStatus.INVALID_ARGUMENT, 400],
  ISSUER_BODY_TOO_LARGE: [GrpcStatus.RESOURCE_EXHAUSTED, 413],
  ISSUER_UNSUPPORTED_MEDIA_TYPE: [GrpcStatus.INVALID_ARGUMENT, 415],
  ISSUER_NOT_FOUND: [GrpcStatus.NOT_FOUND, 404],
  ISSUER_METHOD_NOT_ALLOWED: [GrpcStatus.UNIMPLEMENTED, 405],
  ISSUER_STORE_CORRUPT: [GrpcStatus.DATA_LOSS, 500],
  ISSUER_STORE_BUSY: [GrpcStatus.UNAVAILABLE, 503],
  ISSUER_INTERNAL: [GrpcStatus.INTERNAL, 500],
};

/** Error raised by the issuer module; `code` is one of {@link IssuerErrorCode}. */
export class IssuerError extends SigilError<IssuerErrorCode> {
  constructor(code: IssuerErrorCode, message: string, cause?: unknown) {
    const [grpc, http] = PROTOCOL[code];
    super(code, message, { grpc, http, ...(cause === undefined ? {} : { cause }) });
  }
}
