/**
 * The chain rules (docs/chains.md §3), shared by delegate (refuse before signing) and verifyChain
 * (deny a hand-forged hop). Each rule throws its own stable code.
 */
import type { TbitClaims, TokenLimits } from '../api.js';
import { TbitError } from '../errors.js';
import { audWidening } from './audience.js';
import { MAX_HOPS } from './hop.js';
import { scopeWidening } from './scope.js';

/** Limits a deployment configures (sigil.issuer.max_ttl, sigil.validator.max_chain_depth / clock_skew). */
export interface Limits {
  maxTtl: number;
  maxChainDepth: number;
  clockSkew: number;
}

/** Default limits: the seed's values. */
export const DEFAULT_LIMITS: Limits = { maxTtl: 300, maxChainDepth: MAX_HOPS, clockSkew: 0 };

/** Resolves and validates caller limits (a bad option is a programming error: TBIT_INVALID_CLAIM). */
export function resolveLimits(o: TokenLimits): Limits {
  const maxTtl = o.maxTtl ?? DEFAULT_LIMITS.maxTtl;
  const maxChainDepth = o.maxChainDepth ?? DEFAULT_LIMITS.maxChainDepth;
  const clockSkew = o.clockSkew ?? DEFAULT_LIMITS.clockSkew;
  if (!Number.isSafeInteger(maxTtl) || maxTtl < 1)
    throw new TbitError('TBIT_INVALID_CLAIM', 'maxTtl must be ≥ 1');
  if (!Number.isSafeInteger(maxChainDepth) || maxChainDepth < 1 || maxChainDepth > MAX_HOPS) {
    throw new TbitError('TBIT_INVALID_CLAIM', `maxChainDepth must be in [1, ${MAX_HOPS}]`);
  }
  if (!Number.isSafeInteger(clockSkew) || clockSkew < 0) {
    throw new TbitError('TBIT_INVALID_CLAIM', 'clockSkew must be ≥ 0');
  }
  return { maxTtl, maxChainDepth, clockSkew };
}

/** Rules on a hop by itself (index = 0-based position): lifetime (R9) and depth bookkeeping (R4 root, R6). */
export function checkHop(c: TbitClaims, index: number, limits: Limits): void {
  // R9: every hop's lifetime is bounded, not only the root's.
  if (c.exp - c.iat > limits.maxTtl) {
    throw new TbitError(
      'TBIT_TTL_EXCEEDED',
      `lifetime ${c.exp - c.iat}s exceeds max_ttl ${limits.maxTtl}s`,
      index,
    );
  }
  // R6: dep is the 1-based position; a hop cannot lie about where it sits.
  if (c.dep !== index + 1)
    throw new TbitError('TBIT_INVALID_CLAIM', `dep is ${c.dep}, expected ${index + 1}`, index);
  if (index === 0 && c.par !== undefined)
    throw new TbitError('TBIT_INVALID_CLAIM', 'a root has no par', index);
  if (index > 0 && c.par === undefined)
    throw new TbitError('TBIT_PARENT_MISMATCH', 'a delegated hop needs par', index);
  if (c.dmax > limits.maxChainDepth) {
    throw new TbitError(
      'TBIT_DEPTH_EXCEEDED',
      `dmax ${c.dmax} exceeds max_chain_depth ${limits.maxChainDepth}`,
      index,
    );
  }
  if (c.dep > c.dmax)
    throw new TbitError('TBIT_DEPTH_EXCEEDED', `depth ${c.dep} exceeds dmax ${c.dmax}`, index);
}

/**
 * Rules linking a child to its parent (docs/chains.md §3: R1, R3–R8, R10, R11; R2 is the signature check in chain.ts). `parentHash` is the base64url
 * SHA-256 of the parent's compact JWS.
 */
export function checkChild(p: TbitClaims, parentHash: string, c: TbitClaims, index: number): void {
  if (p.cnf === undefined) {
    throw new TbitError('TBIT_NOT_DELEGABLE', 'the parent hop has no cnf key and cannot delegate', index);
  }
  if (c.iss !== p.sub) {
    throw new TbitError('TBIT_ISSUER_MISMATCH', `iss ${c.iss} is not the parent's sub ${p.sub}`, index);
  }
  if (c.par !== parentHash)
    throw new TbitError('TBIT_PARENT_MISMATCH', 'par is not the parent hop hash', index);
  if (c.task_id !== p.task_id)
    throw new TbitError('TBIT_TASK_CHANGED', 'task_id differs from the parent', index);
  if (c.dmax > p.dmax) {
    throw new TbitError('TBIT_DEPTH_EXCEEDED', `dmax ${c.dmax} exceeds the parent's dmax ${p.dmax}`, index);
  }
  const widened = scopeWidening(p.tool_scope, c.tool_scope);
  if (widened !== undefined) {
    throw new TbitError(
      'TBIT_SCOPE_WIDENED',
      `tool_scope entry ${JSON.stringify(widened)} is not in the parent's`,
      index,
    );
  }
  const aud = audWidening(p.aud, c.aud);
  if (aud !== undefined) {
    throw new TbitError(
      'TBIT_AUDIENCE_WIDENED',
      `aud entry ${aud} is not covered by the parent's aud`,
      index,
    );
  }
  if (c.exp > p.exp)
    throw new TbitError('TBIT_EXP_EXTENDED', `exp ${c.exp} is after the parent's ${p.exp}`, index);
  if (c.iat < p.iat) {
    throw new TbitError('TBIT_IAT_BEFORE_PARENT', `iat ${c.iat} is before the parent's ${p.iat}`, index);
  }
}

/**
 * Time rules (R12) at `now` (seconds) with `skew` (RFC 7519 §4.1.4 exp, §4.1.5 nbf): expired at or after exp;
 * not yet valid before nbf, or when issued in the future (iat > now).
 */
export function checkTime(c: TbitClaims, index: number, now: number, skew: number): void {
  if (now >= c.exp + skew) throw new TbitError('TBIT_EXPIRED', `expired at ${c.exp} (now ${now})`, index);
  if (now + skew < c.nbf)
    throw new TbitError('TBIT_NOT_YET_VALID', `not valid before ${c.nbf} (now ${now})`, index);
  if (now + skew < c.iat)
    throw new TbitError('TBIT_NOT_YET_VALID', `issued in the future at ${c.iat}`, index);
}
