/** mintRoot: the issuer's operation (docs/tbit.md §5). */
import type { KeyObject } from 'node:crypto';
import { nowSeconds, systemClock } from '../lib/clock.js';
import type { Ed25519PublicJwk, TokenLimits } from './api.js';
import { TbitError } from './errors.js';
import { assertClaims } from './lib/claims.js';
import { parseHop } from './lib/hop.js';
import { checkHop, resolveLimits } from './lib/rules.js';
import { assertSigningKey, cnfOf, newJti, signHop } from './lib/sign.js';

/** Input of {@link mintRoot}. */
export interface MintRootOptions extends Omit<TokenLimits, 'clockSkew'> {
  /** The issuer's Ed25519 private key. */
  issuerKey: KeyObject;
  /** Key id published for `issuerKey` in the JWKS. */
  kid: string;
  /** Issuer SPIFFE ID, e.g. `spiffe://sigil.mesh/sigil/issuer`. */
  iss: string;
  /** Holder SPIFFE ID. */
  sub: string;
  /** Audience SPIFFE ID(s); a trust-domain ID covers its whole domain. */
  aud: string | string[];
  taskId: string;
  toolScope: string[];
  /** Lifetime in seconds (≤ maxTtl). */
  ttl: number;
  /** The holder's delegation key (`cnf`). Omit to mint a token that cannot delegate. */
  holderKey?: Ed25519PublicJwk;
  /** Default: 128 random bits. */
  jti?: string;
  /** Deepest chain this token may grow to (counting itself); default maxChainDepth. */
  dmax?: number;
}

/**
 * Mints a root TBIT (one compact JWS, `dep` 1) signed with the issuer key. Every claim is validated and every
 * root rule enforced before signing; a bad input throws a TbitError and nothing is signed.
 */
export function mintRoot(o: MintRootOptions): string {
  const limits = resolveLimits(o);
  const key = assertSigningKey(o.issuerKey, 'issuerKey');
  if (typeof o.kid !== 'string' || o.kid.length === 0 || o.kid.length > 256) {
    throw new TbitError('TBIT_HEADER_REJECTED', 'kid must be a string of 1..256 characters');
  }
  if (!Number.isSafeInteger(o.ttl) || o.ttl < 1)
    throw new TbitError('TBIT_INVALID_CLAIM', 'ttl must be ≥ 1 second');
  const iat = nowSeconds(o.clock ?? systemClock);
  const claims = assertClaims(
    {
      iss: o.iss,
      sub: o.sub,
      aud: o.aud,
      iat,
      nbf: iat,
      exp: iat + o.ttl,
      jti: o.jti ?? newJti(),
      task_id: o.taskId,
      tool_scope: o.toolScope,
      cnf: cnfOf(o.holderKey),
      dep: 1,
      dmax: o.dmax ?? limits.maxChainDepth,
    },
    0,
  );
  checkHop(claims, 0, limits);
  const jws = signHop(claims, o.kid, key);
  parseHop(jws, 0); // what we emit must parse under our own rules (cheap insurance against drift)
  return jws;
}
