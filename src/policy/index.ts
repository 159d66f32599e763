/**
 * Rego policies through OPA Wasm (docs/policy.md). The authz pipeline uses {@link startPolicyDecider}; the
 * pieces are exported for the CLI, the admin API, tests and benchmarks.
 */

export type * from './api.js';
export { type BuildBundleOptions, buildBundle, findOpa } from './build-bundle.js';
export { buildPolicyInput, parsePathAndQuery } from './build-input.js';
export { POLICY_ERROR_CODES, PolicyError, type PolicyErrorCode } from './errors.js';
export { DEFAULT_EVAL_TIMEOUT_MS, type EvaluateOptions, evaluateInput, evaluatePolicy } from './evaluate.js';
export {
  type PolicyDeciderHandle,
  type PolicyReplicaHandle,
  sigilInputFromHook,
  startPolicyDecider,
  startReplicaDecider,
} from './hook-decider.js';
export { DEFAULT_ENTRYPOINT, type LoadBundleOptions, loadBundle, type PolicyBundle } from './load-bundle.js';
export { mapDecision } from './map-decision.js';
export {
  type ActivePolicyBundle,
  PolicyEngine,
  type PolicyEngineOptions,
  type PolicyEvalOptions,
  type PolicyLogger,
  type PolicyReplicaOptions,
  policyEvalOptions,
} from './policy-engine.js';
export { bundleSources, regoSources } from './rego-sources.js';
export {
  DecisionReplay,
  type FlipCounts,
  type InputDependencies,
  inputDependencies,
  RECORDED_INPUT_PATHS,
  type ReplayLog,
  type ReplayOptions,
  type ReplayReport,
  type ReplaySample,
} from './replay.js';
