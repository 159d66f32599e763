/**
 * Refusals of the LLM backend (`sigil policy compile --llm`, docs/policy-llm.md). Each names why the
 * model's answer, or the call to it, was not accepted; nothing is written or built after any of them.
 */
import { GrpcStatus, SigilError } from '../lib/errors.js';

/** Every stable code the LLM backend can raise. */
export const NLPOLICY_LLM_ERROR_CODES = [
  /** No API key, a bad base URL, model or timeout, or no opa CLI. */
  'NLPOLICY_LLM_CONFIG',
  /** The Messages API could not be reached or answered with an HTTP error. */
  'NLPOLICY_LLM_HTTP',
  /** The Messages API did not answer within the timeout. */
  'NLPOLICY_LLM_TIMEOUT',
  /** The answer is not a Messages API response, or holds no policy and test Rego blocks. */
  'NLPOLICY_LLM_BAD_ANSWER',
  /** The Rego does not parse. */
  'NLPOLICY_LLM_PARSE',
  /** `opa check --strict` fails (types, unused variables, wrong package or entrypoint, …). */
  'NLPOLICY_LLM_CHECK',
  /** The Rego calls a network, runtime or randomness builtin (http.send, opa.runtime, net.lookup_ip_addr, rand.*, …). */
  'NLPOLICY_LLM_FORBIDDEN_BUILTIN',
  /** The answer has no tests, or its own tests fail. */
  'NLPOLICY_LLM_TESTS_FAILED',
  /** A decision differs from the deterministic compiler's on a sentence it can parse. */
  'NLPOLICY_LLM_MISMATCH',
  /** The policy allows more than the words: an unconditional allow, or a request no sentence names. */
  'NLPOLICY_LLM_TOO_WIDE',
  /** The diff was shown but not confirmed (no TTY and no --yes, or the operator said no). */
  'NLPOLICY_LLM_NOT_CONFIRMED',
] as const;

/** One of {@link NLPOLICY_LLM_ERROR_CODES}. */
export type NlPolicyLlmErrorCode = (typeof NLPOLICY_LLM_ERROR_CODES)[number];

/** A refused LLM answer (or call); `details` carries opa's output or the failing cases. */
export class NlPolicyLlmError extends SigilError<NlPolicyLlmErrorCode> {
  constructor(
    code: NlPolicyLlmErrorCode,
    message: string,
    readonly details?: string,
    cause?: unknown,
  ) {
    super(code, message, { grpc: GrpcStatus.FAILED_PRECONDITION, http: 422, cause });
  }
}
