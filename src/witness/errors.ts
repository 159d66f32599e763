/**
 * The witness module's stable error codes (docs/witness.md §Errors). Tests and operators match on `code`.
 */
import { GrpcStatus, type GrpcStatusCode, SigilError } from '../lib/errors.js';

/** Every code a witness operation can fail with, and its gRPC and HTTP status. */
const STATUS = {
  /** Malformed add-checkpoint body, cosigner key or response (c2sp.org/tlog-witness: 400). */
  WITNESS_BAD_REQUEST: [GrpcStatus.INVALID_ARGUMENT, 400],
  /** The checkpoint's origin is not a known log (tlog-witness: 404). */
  WITNESS_UNKNOWN_LOG: [GrpcStatus.NOT_FOUND, 404],
  /** No valid signature by a trusted log key, or a bad one (tlog-witness: 403). */
  WITNESS_BAD_SIGNATURE: [GrpcStatus.PERMISSION_DENIED, 403],
  /** `old` is not the size the witness last cosigned (tlog-witness: 409). */
  WITNESS_CONFLICT: [GrpcStatus.FAILED_PRECONDITION, 409],
  /** Consistency proof fails, non-empty proof from 0, same size different root, bad empty root (422). */
  WITNESS_BAD_PROOF: [GrpcStatus.PERMISSION_DENIED, 422],
  /** A cosignature by a configured witness does not verify (forged or altered). */
  WITNESS_COSIGNATURE_INVALID: [GrpcStatus.PERMISSION_DENIED, 422],
  /** Fewer valid cosignatures than the policy's k. */
  WITNESS_POLICY_UNMET: [GrpcStatus.PERMISSION_DENIED, 422],
  /** The local log is behind, or differs from, what witnesses cosigned: rolled back or forked (fail closed). */
  WITNESS_ROLLBACK: [GrpcStatus.FAILED_PRECONDITION, 503],
  /** A witness could not be reached or answered outside the protocol. */
  WITNESS_UNAVAILABLE: [GrpcStatus.UNAVAILABLE, 503],
  /** The witness state file cannot be read or written. */
  WITNESS_IO: [GrpcStatus.UNAVAILABLE, 503],
} as const satisfies Record<string, readonly [grpc: GrpcStatusCode, http: number]>;

/** A stable witness error code (meanings: docs/witness.md §Errors). */
export type WitnessErrorCode = keyof typeof STATUS;

/** Error raised by every witness operation (client, server, verification). */
export class WitnessError extends SigilError<WitnessErrorCode> {
  constructor(code: WitnessErrorCode, message: string, cause?: unknown) {
    super(code, message, { grpc: STATUS[code][0], http: STATUS[code][1], cause });
  }
}
