/**
 * The Kubernetes operator (docs/operator.md): SigilPolicy / SigilTrust / SigilRevocation → the documents the
 * sidecars poll, status conditions, and the sidecar-injection webhook.
 */
export {
  loadOperatorConfig,
  type OperatorConfig,
  operatorConfigSchema,
  parseOperatorConfig,
} from './config.js';
export { OPERATOR_ERROR_CODES, OperatorError, type OperatorErrorCode } from './errors.js';
export { type RunningOperator, type StartOperatorOptions, startOperator } from './start-operator.js';
