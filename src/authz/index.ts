/** The Envoy ext_authz v3 service and its decision pipeline (docs/authz.md). */
export { type CachedChain, ChainCache, type ChainCacheOptions, type ChainVerifier } from './chain-cache.js';
export {
  type CheckFn,
  type CheckOptions,
  createCheck,
  type DecisionEvent,
  type DecisionReceipt,
  type DecisionSink,
} from './check.js';
export { checkBinding, type PeerBinding } from './check-binding.js';
export { AUTHZ_HTTP_STATUS, AuthzError, type AuthzErrorCode } from './errors.js';
export { extractRequest, type RequestView } from './extract-request.js';
export { extractToken } from './extract-token.js';
export { defaultPolicy } from './policy-hook.js';
export {
  type ResolvedTools,
  type RouteRule,
  type ToolResolver,
  type ToolSource,
  toolResolver,
} from './resolve-tool.js';
export { allowResponse, denyResponse, SIGIL_HEADER_PREFIX } from './respond.js';
export { type AuthzServer, type AuthzServerOptions, startAuthzServer } from './server.js';
