/** The Envoy ext_authz v3 service and its decision pipeline (docs/authz.md). */
export { defaultPolicy } from './apply-policy.js';
export { ChainCache, type ChainVerifier } from './chain-cache.js';
export {
  type CheckFn,
  createCheck,
  type DecisionEvent,
  type DecisionOrigin,
  type DecisionReceipt,
  type DecisionSink,
} from './check.js';
export {
  createProofCheck,
  type ProofCheck,
  type ProofCheckOptions,
  type ProofMode,
  type ProofOverride,
  type ReplaySpender,
} from './check-proof.js';
export { AUTHZ_HTTP_STATUS, AuthzError, type AuthzErrorCode } from './errors.js';
/** The replay cache the primary owns for every Check worker (docs/workers.md §4): the one the Check path uses. */
export { createReplayCache, type ReplayCache, type SpendResult } from './lib/replay-cache.js';
export { remoteReplayCache, type SpendRequest } from './remote-replay.js';
export { toolResolver } from './resolve-tool.js';
export {
  type AuthzServer,
  type AuthzServerOptions,
  type AuthzTransport,
  startAuthzServer,
} from './server.js';
