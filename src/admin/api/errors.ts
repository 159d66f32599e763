/**
 * Stable error codes of the admin JSON API (docs/api.md, "Admin API"). Bodies are `{error, code}`;
 * tests and the dashboard match on `code`, never on the message.
 */
import { GrpcStatus, SigilError, type SigilErrorOptions } from '../../lib/errors.js';

/** Stable codes the admin API answers with. */
export type AdminApiErrorCode =
  /** No or wrong admin credential. */
  | 'ADMIN_UNAUTHORIZED'
  /** The credential was a session cookie but the request changes state: the Bearer header is required. */
  | 'ADMIN_BEARER_REQUIRED'
  | 'ADMIN_NOT_FOUND'
  | 'ADMIN_METHOD_NOT_ALLOWED'
  /** Bad query parameter, path parameter or JSON body. */
  | 'ADMIN_BAD_REQUEST'
  | 'ADMIN_BODY_TOO_LARGE'
  | 'ADMIN_UNSUPPORTED_MEDIA_TYPE'
  /** Too many live event streams. */
  | 'ADMIN_TOO_MANY_STREAMS'
  /** A backing part (ledger, policy engine, trust store) is not wired in or not ready. */
  | 'ADMIN_UNAVAILABLE'
  | 'ADMIN_INTERNAL';

const HTTP: Record<AdminApiErrorCode, number> = {
  ADMIN_UNAUTHORIZED: 401,
  ADMIN_BEARER_REQUIRED: 401,
  ADMIN_NOT_FOUND: 404,
  ADMIN_METHOD_NOT_ALLOWED: 405,
  ADMIN_BAD_REQUEST: 400,
  ADMIN_BODY_TOO_LARGE: 413,
  ADMIN_UNSUPPORTED_MEDIA_TYPE: 415,
  ADMIN_TOO_MANY_STREAMS: 503,
  ADMIN_UNAVAILABLE: 503,
  ADMIN_INTERNAL: 500,
};

const GRPC: Partial<Record<AdminApiErrorCode, SigilErrorOptions['grpc']>> = {
  ADMIN_UNAUTHORIZED: GrpcStatus.UNAUTHENTICATED,
  ADMIN_BEARER_REQUIRED: GrpcStatus.UNAUTHENTICATED,
  ADMIN_NOT_FOUND: GrpcStatus.NOT_FOUND,
  ADMIN_BAD_REQUEST: GrpcStatus.INVALID_ARGUMENT,
  ADMIN_BODY_TOO_LARGE: GrpcStatus.RESOURCE_EXHAUSTED,
  ADMIN_TOO_MANY_STREAMS: GrpcStatus.RESOURCE_EXHAUSTED,
  ADMIN_UNAVAILABLE: GrpcStatus.UNAVAILABLE,
};

/** An admin API failure; `httpStatus` is what the handler answers with. */
export class AdminApiError extends SigilError<AdminApiErrorCode> {
  constructor(code: AdminApiErrorCode, message: string, options: Pick<SigilErrorOptions, 'cause'> = {}) {
    super(code, message, { ...options, http: HTTP[code], grpc: GRPC[code] ?? GrpcStatus.INTERNAL });
  }
}

/** An ADMIN_BAD_REQUEST error (bad query parameter, path parameter or JSON body). */
export const badRequest = (message: string): AdminApiError => new AdminApiError('ADMIN_BAD_REQUEST', message);
