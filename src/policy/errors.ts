/**
 * The policy module's error type and its stable codes (docs/policy.md §8).
 * Every code here means "deny" when it reaches the authz pipeline: the policy step fails closed.
 */
import { GrpcStatus, SigilError } from '../lib/errors.js';

/** Every stable code the policy module can raise or put in a verdict (for exhaustive tests and docs). */
export const POLICY_ERROR_CODES = [
  /** Bundle is not a gzip'd tar, is truncated, lacks policy.wasm, has bad JSON/Wasm, path traversal, oversize entry, missing entrypoint. */
  'POLICY_BUNDLE_INVALID',
  /** The Wasm needs a host builtin that neither opa-wasm nor SIGIL provides. */
  'POLICY_BUILTIN_MISSING',
  /** The bundle could not be fetched (file unreadable, HTTP error). */
  'POLICY_BUNDLE_UNAVAILABLE',
  /** The bundle source's transport is refused: `http://` not allowed, or a TLS certificate not from the trusted (pinned) CA. */
  'POLICY_SOURCE_REFUSED',
  /** Evaluation threw (Wasm trap, abort, builtin error, memory cap). */
  'POLICY_EVAL_ERROR',
  /** Evaluation took longer than `sigil.policy.eval_timeout_ms`. */
  'POLICY_TIMEOUT',
  /** The policy evaluated and said no. */
  'POLICY_DENIED',
  /** The decision was undefined or not a boolean / well-formed object (opa-envoy-plugin rules). */
  'POLICY_RESULT_INVALID',
  /** The request could not be turned into the input document (e.g. unparsable path). */
  'POLICY_INPUT_INVALID',
  /** No bundle is loaded yet (start-up fetch failed and no previous bundle exists). */
  'POLICY_NOT_LOADED',
  /** `opa` CLI missing or failed (CLI `policy build` only). */
  'POLICY_BUILD_FAILED',
  /** `sigil policy replay`: bad arguments, or the ledger could not be read. */
  'POLICY_REPLAY_FAILED',
] as const;

/** One of {@link POLICY_ERROR_CODES}. */
export type PolicyErrorCode = (typeof POLICY_ERROR_CODES)[number];

/** Load/operator problems are server-side (UNAVAILABLE / 503); a policy "no" is PERMISSION_DENIED / 403. */
function statusOf(code: PolicyErrorCode) {
  switch (code) {
    case 'POLICY_DENIED':
      return { grpc: GrpcStatus.PERMISSION_DENIED, http: 403 };
    case 'POLICY_INPUT_INVALID':
      return { grpc: GrpcStatus.INVALID_ARGUMENT, http: 400 };
    case 'POLICY_TIMEOUT':
      return { grpc: GrpcStatus.DEADLINE_EXCEEDED, http: 503 };
    case 'POLICY_EVAL_ERROR':
    case 'POLICY_RESULT_INVALID':
      return { grpc: GrpcStatus.INTERNAL, http: 500 };
    default:
      return { grpc: GrpcStatus.UNAVAILABLE, http: 503 };
  }
}

/** A policy failure with a stable {@link PolicyErrorCode}. */
export class PolicyError extends SigilError<PolicyErrorCode> {
  constructor(code: PolicyErrorCode, message: string, cause?: unknown) {
    const s = statusOf(code);
    super(code, message, { grpc: s.grpc, http: s.http, cause });
  }
}

/** Builds an assert `fail` callback raising `code` (for src/lib/assert.ts helpers and local `invalid`s). */
export function failWith(code: PolicyErrorCode, prefix = ''): (what: string, cause?: unknown) => PolicyError {
  return (what, cause) => new PolicyError(code, prefix + what, cause);
}
