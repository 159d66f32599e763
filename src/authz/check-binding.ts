/**
 * Step 3: binding. The audience rule (leaf `aud` covers this sidecar's SPIFFE ID) is enforced by
 * verifyChain itself (token module, docs/tbit.md §4.3) because the cache passes `audience`; this step adds
 * the mTLS peer binding: the leaf `sub` must be the identity that actually connected.
 */

import type { VerifiedChain } from '../token/api.js';
import { AuthzError } from './errors.js';

/** authz.peer_binding */
export type PeerBinding = 'require' | 'when_present' | 'off';

/** Throws AUTHZ_PEER_REQUIRED / AUTHZ_PEER_MISMATCH when the binding rule fails. */
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
