/**
 * The token module's error type and its stable codes (documented one by one in docs/tbit.md §7).
 * Status mapping follows RFC 6750 §3.1: a token that is malformed, badly signed, expired, revoked or whose
 * chain breaks a narrowing rule is `invalid_token` (401 / UNAUTHENTICATED); a valid token that does not
 * grant this audience or tool is `insufficient_scope` (403 / PERMISSION_DENIED).
 */
import { GrpcStatus, SigilError } from '../lib/errors.js';

/** Every stable code the token module can raise, for exhaustive tests and docs. */
export const TBIT_ERROR_CODES = [
  'TBIT_MALFORMED',
  'TBIT_TOO_LARGE',
  'TBIT_ALG_REJECTED',
  'TBIT_TYP_REJECTED',
  'TBIT_HEADER_REJECTED',
  'TBIT_BAD_SIGNATURE',
  'TBIT_UNKNOWN_KEY',
  'TBIT_ISSUER_NOT_BOUND',
  'TBIT_TRUST_DOMAIN_NOT_BOUND',
  'TBIT_EXPIRED',
  'TBIT_NOT_YET_VALID',
  'TBIT_TTL_EXCEEDED',
  'TBIT_SCOPE_WIDENED',
  'TBIT_EXP_EXTENDED',
  'TBIT_IAT_BEFORE_PARENT',
  'TBIT_TASK_CHANGED',
  'TBIT_DEPTH_EXCEEDED',
  'TBIT_ISSUER_MISMATCH',
  'TBIT_PARENT_MISMATCH',
  'TBIT_AUDIENCE_MISMATCH',
  'TBIT_AUDIENCE_WIDENED',
  'TBIT_TOOL_NOT_IN_SCOPE',
  'TBIT_REVOKED',
  'TBIT_NOT_DELEGABLE',
  'TBIT_HOLDER_KEY_MISMATCH',
  'TBIT_INVALID_SPIFFE_ID',
  'TBIT_INVALID_CLAIM',
  'TBIT_TRUST_BUNDLE_INVALID',
  'TBIT_TRUST_SOURCE_REFUSED',
  'TBIT_TRUST_SNAPSHOT_INVALID',
  'TBIT_TRUST_SNAPSHOT_STALE',
  'TBIT_PROOF_INVALID',
  'TBIT_PROOF_EXPIRED',
  'TBIT_PROOF_MISMATCH',
] as const;

/** A stable code of the token module. */
export type TbitErrorCode = (typeof TBIT_ERROR_CODES)[number];

/** Codes meaning the verifier's trust data failed (503): a server-side problem, not the caller's. */
const TRUST_DATA: ReadonlySet<TbitErrorCode> = new Set([
  'TBIT_TRUST_BUNDLE_INVALID',
  'TBIT_TRUST_SOURCE_REFUSED',
  'TBIT_TRUST_SNAPSHOT_INVALID',
  'TBIT_TRUST_SNAPSHOT_STALE',
]);

/** Codes meaning "the credential is fine but does not grant this" (RFC 6750 §3.1 insufficient_scope). */
const FORBIDDEN: ReadonlySet<TbitErrorCode> = new Set(['TBIT_AUDIENCE_MISMATCH', 'TBIT_TOOL_NOT_IN_SCOPE']);

/** A token failure with a stable {@link TbitErrorCode}. `hop` is the 0-based hop index when known. */
export class TbitError extends SigilError<TbitErrorCode> {
  /** 0-based index of the offending hop (root = 0), when the failure belongs to one hop. */
  readonly hop: number | undefined;

  constructor(code: TbitErrorCode, message: string, hop?: number, cause?: unknown) {
    // A trust source that cannot be read (or is refused) is the verifier's fault (503), not the token's.
    const [grpc, http] = TRUST_DATA.has(code)
      ? [GrpcStatus.UNAVAILABLE, 503]
      : FORBIDDEN.has(code)
        ? [GrpcStatus.PERMISSION_DENIED, 403]
        : [GrpcStatus.UNAUTHENTICATED, 401];
    super(code, hop === undefined ? message : `hop ${hop}: ${message}`, { grpc, http, cause });
    this.hop = hop;
  }
}

/** Builds an assert `fail` callback raising `code` (for src/lib/assert.ts helpers). */
export function failWith(code: TbitErrorCode, hop?: number): (what: string) => TbitError {
  return (what) => new TbitError(code, what, hop);
}
