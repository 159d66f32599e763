/** Stable error codes of the Check workers (docs/authz.md §12). */
import { GrpcStatus, SigilError } from '../../lib/errors.js';

/** Codes of {@link WorkersError}. */
export type WorkersErrorCode =
  /** The channel to the other process closed (it died, or is shutting down) before an answer came. */
  | 'WORKERS_CHANNEL_CLOSED'
  /** The other process's handler failed; the message carries its code. */
  | 'WORKERS_REMOTE_FAILED'
  /** A message on the channel was not of the expected shape (a bug, or a foreign sender). */
  | 'WORKERS_BAD_MESSAGE'
  /** The other process did not answer in time. */
  | 'WORKERS_TIMEOUT';

/** Failure of the primary ↔ worker channel. Always fails closed: an allow waiting on it becomes a deny. */
export class WorkersError extends SigilError<WorkersErrorCode> {
  /** WORKERS_REMOTE_FAILED: the stable code the other side's handler failed with (e.g. `LISTEN_FAILED`). */
  readonly remoteCode: string | undefined;

  constructor(
    code: WorkersErrorCode,
    message: string,
    options: { cause?: unknown; remoteCode?: string } = {},
  ) {
    super(code, message, { grpc: GrpcStatus.UNAVAILABLE, http: 503, cause: options.cause });
    this.remoteCode = options.remoteCode;
  }
}
