/** delegate: a holder narrows its token for a child (docs/chains.md §2). */
import type { KeyObject } from 'node:crypto';
import { nowSeconds, systemClock } from '../lib/clock.js';
import type { Ed25519PublicJwk, TokenLimits } from './api.js';
import { TbitError } from './errors.js';
import { walkChain } from './lib/chain.js';
import { assertClaims } from './lib/claims.js';
import { HOP_SEPARATOR, MAX_TOKEN_LENGTH, parseHop, splitToken } from './lib/hop.js';
import { okpThumbprint } from './lib/keys.js';
import { checkChild, checkHop, checkTime, resolveLimits } from './lib/rules.js';
import { assertSigningKey, cnfOf, newJti, signHop } from './lib/sign.js';
import { publicJwkOf } from './public-jwk.js';

/** Input of {@link delegate}. `clockSkew` applies to the parent's validity window. */
export interface DelegateOptions extends TokenLimits {
  /** The whole parent chain as presented (`<root>~…~<leaf>`). */
  parentToken: string;
  /** Private key matching the parent leaf's `cnf.jwk`. */
  holderPrivateKey: KeyObject;
  /** Child's SPIFFE ID. */
  sub: string;
  /** Child audience; default the parent leaf's. Must be covered by it. */
  aud?: string | string[];
  /** Child scope; must be covered by the parent leaf's. */
  toolScope: string[];
  /** Child lifetime in seconds. Default: up to the parent's exp, at most maxTtl. */
  ttl?: number;
  /** Absolute child exp (NumericDate); wins over ttl. */
  exp?: number;
  /** Default the parent's dmax. */
  dmax?: number;
  /** The child's own delegation key; omit to make the child a dead end. */
  holderKey?: Ed25519PublicJwk;
  jti?: string;
}

/**
 * Signs a child hop under the parent leaf's `cnf` key and returns the new chain `<parent chain>~<child>`.
 * The parent chain's own links are checked (but not the root's trust: that is the verifier's job); then
 * every chain rule is applied to the child BEFORE signing, so a refused delegation never produces a token.
 */
export function delegate(o: DelegateOptions): string {
  const limits = resolveLimits(o);
  const key = assertSigningKey(o.holderPrivateKey, 'holderPrivateKey');
  const hops = splitToken(o.parentToken).map(parseHop);
  walkChain(hops, { limits, now: undefined, trust: null });
  const index = hops.length;
  const parent = hops[index - 1]!;
  const p = parent.claims;
  if (p.cnf === undefined) {
    throw new TbitError('TBIT_NOT_DELEGABLE', 'the parent hop has no cnf key and cannot delegate', index);
  }
  if (publicJwkOf(key).x !== p.cnf.jwk.x) {
    throw new TbitError(
      'TBIT_HOLDER_KEY_MISMATCH',
      "holderPrivateKey does not match the parent's cnf key",
      index,
    );
  }
  if (index + 1 > limits.maxChainDepth) {
    throw new TbitError(
      'TBIT_DEPTH_EXCEEDED',
      `a child would be hop ${index + 1} > ${limits.maxChainDepth}`,
      index,
    );
  }
  const now = nowSeconds(o.clock ?? systemClock);
  // A parent that is expired (or not yet valid) here cannot lend authority.
  checkTime(p, index - 1, now, limits.clockSkew);
  // The child cannot predate its parent; a delegator whose clock runs behind the issuer's uses the parent's iat.
  const iat = Math.max(now, p.iat);
  let exp: number;
  if (o.exp !== undefined) exp = o.exp;
  else if (o.ttl !== undefined) {
    if (!Number.isSafeInteger(o.ttl) || o.ttl < 1)
      throw new TbitError('TBIT_INVALID_CLAIM', 'ttl must be ≥ 1', index);
    exp = iat + o.ttl;
  } else exp = Math.min(p.exp, iat + limits.maxTtl);
  const claims = assertClaims(
    {
      iss: p.sub,
      sub: o.sub,
      aud: o.aud ?? p.aud,
      iat,
      nbf: iat,
      exp,
      jti: o.jti ?? newJti(),
      task_id: p.task_id,
      tool_scope: o.toolScope,
      cnf: cnfOf(o.holderKey),
      par: parent.hash,
      dep: p.dep + 1,
      dmax: o.dmax ?? p.dmax,
    },
    index,
  );
  checkChild(p, parent.hash, claims, index);
  checkHop(claims, index, limits);
  const jws = signHop(claims, okpThumbprint(p.cnf.jwk.x), key);
  const token = `${o.parentToken}${HOP_SEPARATOR}${jws}`;
  if (token.length > MAX_TOKEN_LENGTH) {
    throw new TbitError('TBIT_TOO_LARGE', `the new chain would exceed ${MAX_TOKEN_LENGTH} characters`, index);
  }
  return token;
}
