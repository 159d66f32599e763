/** The operator's error type and its stable codes (docs/operator.md §Errors). */
import { GrpcStatus, SigilError } from '../lib/errors.js';

/** Every stable code the operator raises or writes into a status condition's reason. */
export const OPERATOR_ERROR_CODES = [
  /** The operator's configuration file is unreadable or a key is invalid (the message names the key). */
  'OPERATOR_CONFIG_INVALID',
  /** A SigilPolicy did not compile (Rego or English); its status carries the compiler's message. */
  'OPERATOR_POLICY_INVALID',
  /** A SigilTrust's JWKS is not a usable Ed25519 public key set. */
  'OPERATOR_TRUST_INVALID',
  /** A SigilTrust's jwksUri could not be fetched (TLS, network, HTTP status, timeout, over the size cap). */
  'OPERATOR_TRUST_SOURCE_FAILED',
  /** An AdmissionReview the webhook cannot read (not admission.k8s.io/v1, no Pod, malformed JSON). */
  'OPERATOR_ADMISSION_INVALID',
  /** The pod cannot be injected (e.g. a container already uses a name or port the sidecars need). */
  'OPERATOR_INJECTION_REFUSED',
  /** The API server could not be reached or refused a list/watch/status write. */
  'OPERATOR_KUBE_FAILED',
] as const;

/** One of {@link OPERATOR_ERROR_CODES}. */
export type OperatorErrorCode = (typeof OPERATOR_ERROR_CODES)[number];

/** An operator failure with a stable {@link OperatorErrorCode}. */
export class OperatorError extends SigilError<OperatorErrorCode> {
  constructor(code: OperatorErrorCode, message: string, cause?: unknown) {
    const bad = code === 'OPERATOR_ADMISSION_INVALID' || code === 'OPERATOR_CONFIG_INVALID';
    super(code, message, {
      grpc: bad ? GrpcStatus.INVALID_ARGUMENT : GrpcStatus.FAILED_PRECONDITION,
      http: bad
        ? 400
        : code === 'OPERATOR_KUBE_FAILED' || code === 'OPERATOR_TRUST_SOURCE_FAILED'
          ? 503
          : 422,
      ...(cause === undefined ? {} : { cause }),
    });
  }
}
