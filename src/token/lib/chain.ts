/**
 * The chain walk shared by verifyChain and delegate (docs/chains.md §4): for each hop, find the key that
 * must have signed it, check the signature, then the hop's own rules, its link to the parent, time and
 * revocation. The first failure throws; nothing is returned for a broken chain.
 */
import { LRUCache } from 'lru-cache';
import type { TbitClaims, TrustedIssuerKey, TrustStore } from '../api.js';
import { TbitError } from '../errors.js';
import type { ParsedHop } from './hop.js';
import { verifySignature } from './jws.js';
import { type CachedKey, importEd25519, okpThumbprint } from './keys.js';
import { checkChild, checkHop, checkTime, type Limits } from './rules.js';

const SCHEME = 'spiffe://';

/** Holder keys seen recently, keyed by the JWK `x`; importing a key costs more than verifying with it. */
const holderKeys = new LRUCache<string, CachedKey>({ max: 1024 });

/** The holder key for a `cnf.jwk.x` (imported once, then cached with its RFC 7638 thumbprint). */
export function holderKey(x: string, hop?: number): CachedKey {
  let k = holderKeys.get(x);
  if (k === undefined) {
    try {
      k = { key: importEd25519(x), thumbprint: okpThumbprint(x) };
    } catch (e) {
      throw new TbitError('TBIT_INVALID_CLAIM', 'cnf.jwk is not a usable Ed25519 key', hop, e);
    }
    holderKeys.set(x, k);
  }
  return k;
}

/** What the walk needs besides the hops. */
export interface WalkOptions {
  limits: Limits;
  /** Current time in seconds; undefined skips the time rules (delegate checks its own leaf). */
  now: number | undefined;
  /** Issuer keys and revocations; null skips the root signature and revocation (delegate: trust is not its job). */
  trust: TrustStore | null;
}

/**
 * Calls into a caller-supplied TrustStore. A store that throws (a custom store backed by I/O, say) must not leak
 * a foreign exception type out of the verifier: it becomes TBIT_TRUST_BUNDLE_INVALID (503), and the request is denied.
 */
function askTrust<T>(f: () => T, hop: number): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof TbitError) throw e;
    throw new TbitError('TBIT_TRUST_BUNDLE_INVALID', 'the trust store failed', hop, e);
  }
}

/**
 * The root's scope rule (docs/chains.md §3 R0), checked after its signature so a forgery still reports
 * TBIT_BAD_SIGNATURE: the key that verified the root must be bound to its `iss` and to its `sub`'s trust domain
 * (SPIFFE Trust Domain and Bundle §3: a validator picks the bundle of the trust domain the identity resides in).
 */
function checkBinding(k: TrustedIssuerKey, c: TbitClaims, i: number): void {
  if (!k.issuers.has(c.iss)) {
    throw new TbitError(
      'TBIT_ISSUER_NOT_BOUND',
      `the key that signed the root is not bound to issuer ${c.iss}`,
      i,
    );
  }
  // sub already parsed as a SPIFFE ID (claims.ts): the trust domain runs from after `spiffe://` to the next `/`.
  const end = c.sub.indexOf('/', SCHEME.length);
  const td = c.sub.slice(SCHEME.length, end === -1 ? undefined : end);
  if (!k.trustDomains.has(td)) {
    throw new TbitError(
      'TBIT_TRUST_DOMAIN_NOT_BOUND',
      `the key that signed the root is not bound to trust domain ${td}`,
      i,
    );
  }
}

/** Walks the chain root → leaf, throwing the first rule a hop breaks. */
export function walkChain(hops: readonly ParsedHop[], o: WalkOptions): void {
  if (hops.length > o.limits.maxChainDepth) {
    throw new TbitError(
      'TBIT_DEPTH_EXCEEDED',
      `${hops.length} hops exceed max_chain_depth ${o.limits.maxChainDepth}`,
    );
  }
  for (let i = 0; i < hops.length; i++) {
    const hop = hops[i]!;
    const c = hop.claims;
    if (i === 0) {
      if (o.trust !== null) {
        // kid is only a lookup key into the trust bundle (never a key itself), scoped by iss.
        const key = askTrust(() => o.trust?.issuerKey(c.iss, hop.header.kid), i);
        if (key === undefined) {
          throw new TbitError(
            'TBIT_UNKNOWN_KEY',
            `no trusted key "${hop.header.kid}" for issuer ${c.iss}`,
            i,
          );
        }
        verifySignature(hop.jwsParts, key.key, i);
        checkBinding(key, c, i);
      }
    } else {
      const parent = hops[i - 1]!;
      const cnf = parent.claims.cnf;
      if (cnf === undefined) {
        throw new TbitError('TBIT_NOT_DELEGABLE', 'the parent hop has no cnf key and cannot delegate', i);
      }
      const k = holderKey(cnf.jwk.x, i - 1);
      // A delegated hop names its signer by thumbprint; any other kid is a key we were not told to trust.
      if (hop.header.kid !== k.thumbprint) {
        throw new TbitError('TBIT_UNKNOWN_KEY', "kid is not the thumbprint of the parent's cnf key", i);
      }
      verifySignature(hop.jwsParts, k.key, i);
      checkChild(parent.claims, parent.hash, c, i);
    }
    checkHop(c, i, o.limits);
    if (o.now !== undefined) checkTime(c, i, o.now, o.limits.clockSkew);
    if (o.trust !== null && askTrust(() => o.trust?.isRevoked(c), i))
      throw new TbitError('TBIT_REVOKED', `jti ${c.jti} or task ${c.task_id} is revoked`, i);
  }
}
