/**
 * Base error for every SIGIL failure. Each module narrows `code` to its own union of stable codes
 * (e.g. `TbitErrorCode`) so tests and operators match on codes, never on messages.
 * Errors carry their protocol meaning: the gRPC status and HTTP status a caller should see.
 */

/** gRPC status codes used by SIGIL (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
export const GrpcStatus = {
  OK: 0,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type GrpcStatusCode = (typeof GrpcStatus)[keyof typeof GrpcStatus];

/** Options accepted by {@link SigilError}. */
export interface SigilErrorOptions {
  /** gRPC status a server should answer with. Default INTERNAL. */
  grpc?: GrpcStatusCode;
  /** HTTP status a server should answer with. Default 500. */
  http?: number;
  /** Underlying cause, kept for logs; never sent to clients. */
  cause?: unknown;
}

/** Base class of all SIGIL errors. `code` is stable and documented; `message` is for humans. */
export class SigilError<C extends string = string> extends Error {
  /** Stable machine-readable code, e.g. `TBIT_SCOPE_WIDENED`. */
  readonly code: C;
  /** gRPC status code carrying this error's protocol meaning. */
  readonly grpcStatus: GrpcStatusCode;
  /** HTTP status code carrying this error's protocol meaning. */
  readonly httpStatus: number;

  constructor(code: C, message: string, options: SigilErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.grpcStatus = options.grpc ?? GrpcStatus.INTERNAL;
    this.httpStatus = options.http ?? 500;
  }

  /** JSON shape used on every wire (HTTP bodies, CLI --json, logs). */
  toJSON(): { error: string; code: C } {
    return { error: this.message, code: this.code };
  }
}

/** True when `e` is a SigilError (optionally with one of the given codes). */
export function isSigilError(e: unknown, ...codes: string[]): e is SigilError {
  return e instanceof SigilError && (codes.length === 0 || codes.includes(e.code));
}
