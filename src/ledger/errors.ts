/**
 * The ledger's stable error codes (docs/ledger.md §Errors). Tests and operators match on `code`.
 */
import { GrpcStatus, type GrpcStatusCode, SigilError } from '../lib/errors.js';

/** Every code a ledger operation can fail with. */
export type LedgerErrorCode =
  /** An argument is out of range or malformed (bad index, size1 > size2, non-bytes entry). */
  | 'LEDGER_BAD_ARGUMENT'
  /** The file at the ledger path is not a readable LMDB environment, or its schema/hashes are inconsistent. */
  | 'LEDGER_CORRUPT'
  /** The on-disk format version is not one this build reads. */
  | 'LEDGER_SCHEMA'
  /** The file system or LMDB failed (permissions, disk full, map full). */
  | 'LEDGER_IO'
  /** A commit failed; the append was not recorded (pending appends are rejected too). */
  | 'LEDGER_COMMIT_FAILED'
  /** The log was closed. */
  | 'LEDGER_CLOSED'
  /** A record failed canonical-encoding validation. */
  | 'LEDGER_RECORD_INVALID'
  /** A signed note / checkpoint / verifier key could not be parsed. */
  | 'LEDGER_NOTE_MALFORMED'
  /** A signed note carries no valid signature by the trusted key (or a bad one). */
  | 'LEDGER_SIGNATURE_INVALID'
  /** A checkpoint's origin is not the expected one. */
  | 'LEDGER_ORIGIN_MISMATCH'
  /** An inclusion or consistency proof does not verify. */
  | 'LEDGER_PROOF_INVALID'
  /** An offline proof bundle (c2sp.org/tlog-proof@v1) could not be parsed. */
  | 'LEDGER_BUNDLE_MALFORMED'
  /** The requested checkpoint / entry does not exist. */
  | 'LEDGER_NOT_FOUND';

/** gRPC and HTTP status of each code (docs/ledger.md §8). */
const STATUS: Record<LedgerErrorCode, [grpc: GrpcStatusCode, http: number]> = {
  LEDGER_BAD_ARGUMENT: [GrpcStatus.INVALID_ARGUMENT, 400],
  LEDGER_CORRUPT: [GrpcStatus.DATA_LOSS, 500],
  LEDGER_SCHEMA: [GrpcStatus.FAILED_PRECONDITION, 500],
  LEDGER_IO: [GrpcStatus.UNAVAILABLE, 503],
  LEDGER_COMMIT_FAILED: [GrpcStatus.UNAVAILABLE, 503],
  LEDGER_CLOSED: [GrpcStatus.UNAVAILABLE, 503],
  LEDGER_RECORD_INVALID: [GrpcStatus.INVALID_ARGUMENT, 400],
  LEDGER_NOTE_MALFORMED: [GrpcStatus.INVALID_ARGUMENT, 400],
  LEDGER_SIGNATURE_INVALID: [GrpcStatus.PERMISSION_DENIED, 422],
  LEDGER_ORIGIN_MISMATCH: [GrpcStatus.PERMISSION_DENIED, 422],
  LEDGER_PROOF_INVALID: [GrpcStatus.PERMISSION_DENIED, 422],
  LEDGER_BUNDLE_MALFORMED: [GrpcStatus.INVALID_ARGUMENT, 400],
  LEDGER_NOT_FOUND: [GrpcStatus.NOT_FOUND, 404],
};

/** Error raised by every ledger operation. */
export class LedgerError extends SigilError<LedgerErrorCode> {
  constructor(code: LedgerErrorCode, message: string, cause?: unknown) {
    super(code, message, { grpc: STATUS[code][0], http: STATUS[code][1], cause });
  }
}

/** A `fail` callback for the assert helpers in src/lib/assert.ts. */
export const badArgument = (what: string): LedgerError => new LedgerError('LEDGER_BAD_ARGUMENT', what);
