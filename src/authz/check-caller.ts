/**
 * Steps 3–4: what the verified caller may do here. The audience rule (leaf `aud` covers this sidecar's
 * SPIFFE ID) is enforced by verifyChain itself (token module, docs/tbit.md §4.3) because the cache passes
 * `audience`; step 3 adds the mTLS peer binding, step 4 the leaf's tool scope.
 */
import type { VerifiedChain } from '../token/api.js';
import { scopeAllows } from '../token/scope-allows.js';
import { AuthzError } from './errors.js';

/** authz.peer_binding */
export type PeerBinding = 'require' | 'when_present' | 'off';

/** Step 3: the leaf `sub` must be the identity that actually connected. Throws AUTHZ_PEER_REQUIRED / AUTHZ_PEER_MISMATCH. */
export function checkBinding(chain: VerifiedChain, principal: string | undefined, mode: PeerBinding): void {
  if (mode === 'off') return;
  if (principal === undefined) {
    if (mode === 'require')
      throw new AuthzError('AUTHZ_PEER_REQUIRED', 'no mTLS peer principal to bind the token to');
    return;
  }
  if (chain.leaf.sub !== principal) {
    throw new AuthzError('AUTHZ_PEER_MISMATCH', 'token holder is not the mTLS peer');
  }
}

/**
 * Step 4: every requested tool must be in the leaf's tool_scope, and a verified request must name one
 * unless `requireTool` is false. Throws AUTHZ_NO_TOOL / AUTHZ_TOOL_NOT_IN_SCOPE.
 */
export function checkToolScope(chain: VerifiedChain, tools: string[], requireTool: boolean): void {
  if (tools.length === 0 && requireTool) {
    throw new AuthzError('AUTHZ_NO_TOOL', 'no tool found in body, header or routes');
  }
  for (const t of tools) {
    if (!scopeAllows(chain.leaf.tool_scope, t)) {
      throw new AuthzError(
        'AUTHZ_TOOL_NOT_IN_SCOPE',
        `tool ${JSON.stringify(t.slice(0, 64))} is not in scope`,
      );
    }
  }
}
