/**
 * verifyChain: the hot path (docs/chains.md §4). Synchronous, node:crypto Ed25519 with cached KeyObjects,
 * no jose. Returns the verified hops or throws a TbitError with a stable code.
 */
import { nowSeconds, systemClock } from '../lib/clock.js';
import type { VerifiedChain, VerifyOptions } from './api.js';
import { TbitError } from './errors.js';
import { audCovers } from './lib/audience.js';
import { sha256b64url } from './lib/b64.js';
import { walkChain } from './lib/chain.js';
import { parseHop, splitToken } from './lib/hop.js';
import { resolveLimits } from './lib/rules.js';
import { scopeAllows } from './scope-allows.js';
import { parseSpiffeId } from './spiffe-id.js';

/**
 * Verifies a presented TBIT (`<root>~…~<leaf>`): size caps, every hop's signature (root against the trust
 * store by iss+kid, each child against its parent's `cnf` key), every chain rule, time with skew,
 * revocation anywhere in the chain, then the leaf's audience and tool when asked.
 */
export function verifyChain(token: string, options: VerifyOptions): VerifiedChain {
  const limits = resolveLimits(options);
  const parts = splitToken(token);
  if (parts.length > limits.maxChainDepth) {
    throw new TbitError(
      'TBIT_DEPTH_EXCEEDED',
      `${parts.length} hops exceed max_chain_depth ${limits.maxChainDepth}`,
    );
  }
  const hops = parts.map(parseHop);
  const trust = options.trust;
  walkChain(hops, {
    limits,
    now: nowSeconds(options.clock ?? systemClock),
    rootKey: (iss, kid) => trust.issuerKey(iss, kid),
    isRevoked: (c) => trust.isRevoked(c),
  });
  const last = hops.length - 1;
  const leaf = hops[last]!.claims;
  if (options.audience !== undefined) {
    const want = parseSpiffeId(options.audience).id;
    if (!audCovers(leaf.aud, want)) {
      throw new TbitError('TBIT_AUDIENCE_MISMATCH', `token is not for audience ${want}`, last);
    }
  }
  if (options.tool !== undefined && !scopeAllows(leaf.tool_scope, options.tool)) {
    throw new TbitError(
      'TBIT_TOOL_NOT_IN_SCOPE',
      `tool ${JSON.stringify(options.tool)} is not in scope`,
      last,
    );
  }
  return {
    hops: hops.map((h) => ({ header: h.header, claims: h.claims, hash: h.hash, jws: h.jws })),
    leaf,
    depth: hops.length,
    tokenHash: sha256b64url(token),
    exp: leaf.exp,
  };
}
