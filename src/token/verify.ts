/**
 * verifyChain: the hot path (docs/chains.md §4). Synchronous, node:crypto Ed25519 with cached KeyObjects,
 * no jose. Returns the verified hops or throws a TbitError with a stable code.
 */

import { sha256 } from '../lib/bytes.js';
import { nowSeconds, systemClock } from '../lib/clock.js';
import type { TbitClaims, VerifiedChain, VerifiedHop, VerifyOptions } from './api.js';
import { TbitError } from './errors.js';
import { audCovers } from './lib/audience.js';
import { walkChain } from './lib/chain.js';
import { type ParsedHop, parseHops, splitToken } from './lib/hop.js';
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
  const hops = parseHops(token, parts);
  walkChain(hops, { limits, now: nowSeconds(options.clock ?? systemClock), trust: options.trust });
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
  return new Chain(
    token,
    hops.map((h) => new Hop(h)),
    leaf,
  );
}

/** A verified hop as callers see it (no decoded signature buffers); hash stays lazy. */
class Hop implements VerifiedHop {
  readonly header: VerifiedHop['header'];
  readonly claims: TbitClaims;
  readonly jws: string;
  readonly #parsed: ParsedHop;

  constructor(p: ParsedHop) {
    this.header = p.header;
    this.claims = p.claims;
    this.jws = p.jws;
    this.#parsed = p;
  }

  get hash(): string {
    return this.#parsed.hash;
  }

  /** Getters live on the prototype, so spell out the JSON shape. */
  toJSON(): VerifiedHop {
    return { header: this.header, claims: this.claims, hash: this.hash, jws: this.jws };
  }
}

/** The verified chain; the whole-token hash is computed on first read (classes: no per-call closures). */
class Chain implements VerifiedChain {
  readonly depth: number;
  readonly exp: number;
  #tokenHash: string | undefined;
  /** Private so the bearer token never lands in a log through util.inspect or JSON. */
  readonly #token: string;

  constructor(
    token: string,
    readonly hops: VerifiedHop[],
    readonly leaf: TbitClaims,
  ) {
    this.#token = token;
    this.depth = hops.length;
    this.exp = leaf.exp;
  }

  get tokenHash(): string {
    this.#tokenHash ??= sha256(this.#token, 'base64url');
    return this.#tokenHash;
  }

  toJSON(): VerifiedChain {
    return { hops: this.hops, leaf: this.leaf, depth: this.depth, tokenHash: this.tokenHash, exp: this.exp };
  }
}
