/**
 * The ledger's stable error codes (docs/ledger.md §Errors). Tests and operators match on `code`.
 */
import { GrpcStatus, type GrpcStatusCode, SigilError } from '../lib/errors.js';

/** Every code a ledger operation can fail with, and its gRPC and HTTP status (docs/ledger.md §8). */
const STATUS = {
  LEDGER_BAD_ARGUMENT: [GrpcStatus.INVALID_ARGUMENT, 400],
  LEDGER_CORRUPT: [GrpcStatus.DATA_LOSS, 500],
  LEDGER_SCHEMA: [GrpcStatus.FAILED_PRECONDITION, 500],
  LEDGER_IO: [GrpcStatus.UNAVAILABLE, 503],
  LEDGER_COMMIT_FAILED: [GrpcStatus.UNAVAILABLE, 503],
  LEDGER_CLOSED: [GrpcStatus.UNAVAILABLE, 503],
  LEDGER_LOCKED: [GrpcStatus.FAILED_PRECONDITION, 409],
  LEDGER_RECORD_INVALID: [GrpcStatus.INVALID_ARGUMENT, 400],
  LEDGER_NOTE_MALFORMED: [GrpcStatus.INVALID_ARGUMENT, 400],
  LEDGER_SIGNATURE_INVALID: [GrpcStatus.PERMISSION_DENIED, 422],
  LEDGER_ORIGIN_MISMATCH: [GrpcStatus.PERMISSION_DENIED, 422],
  LEDGER_PROOF_INVALID: [GrpcStatus.PERMISSION_DENIED, 422],
  LEDGER_BUNDLE_MALFORMED: [GrpcStatus.INVALID_ARGUMENT, 400],
  LEDGER_NOT_FOUND: [GrpcStatus.NOT_FOUND, 404],
  LEDGER_ARCHIVED: [GrpcStatus.FAILED_PRECONDITION, 410],
  LEDGER_ENTRY_TOO_LARGE: [GrpcStatus.INVALID_ARGUMENT, 413],
} as const satisfies Record<string, readonly [grpc: GrpcStatusCode, http: number]>;

/** A stable ledger error code (meanings: docs/ledger.md §8). */
export type LedgerErrorCode = keyof typeof STATUS;

/** Error raised by every ledger operation. */
export class LedgerError extends SigilError<LedgerErrorCode> {
  constructor(code: LedgerErrorCode, message: string, cause?: unknown) {
    super(code, message, { grpc: STATUS[code][0], http: STATUS[code][1], cause });
  }
}

/** A `fail` callback for the assert helpers in src/lib/assert.ts. */
export const badArgument = (what: string): LedgerError => new LedgerError('LEDGER_BAD_ARGUMENT', what);
