/** createTrustStore: the issuer keys and revocations a verifier trusts, and what the keys may vouch for (docs/tbit.md §8). */
import { changeListeners } from '../lib/change-listeners.js';
import type { ReplicableTrustStore, TbitClaims, TrustedIssuerKey, TrustSnapshot } from './api.js';
import { TbitError } from './errors.js';
import { importJwks, type JsonWebKeySet, parseRevocations, type RevocationList } from './lib/jwks.js';
import { parseSpiffeId } from './spiffe-id.js';

/** A value or a function returning it (re-read on `update()`). */
export type Source<T> = T | (() => T);

/** Input of {@link createTrustStore}. */
export interface TrustStoreInput {
  /** Trusted issuer keys. When the JWKS has a `revocations` member and `revocations` is absent, it is used. */
  jwks: Source<JsonWebKeySet>;
  revocations?: Source<RevocationList>;
  /** Root `iss` values the JWKS keys may sign (SPIFFE IDs; at least one). */
  issuers: readonly string[];
  /** Trust domain names (`sigil.mesh`) a root `sub` signed by these keys may be in (at least one). */
  trustDomains: readonly string[];
}

/** A validated binding: what the keys of one trust source may vouch for. */
export type TrustBinding = Pick<TrustedIssuerKey, 'issuers' | 'trustDomains'>;

/**
 * Validates a binding (non-empty; issuers are SPIFFE IDs; trust domains are bare names, SPIFFE-ID.md §2.1).
 * Throws TBIT_TRUST_BUNDLE_INVALID: a source with an unusable binding must not load at all.
 */
export function trustBinding(issuers: readonly string[], trustDomains: readonly string[]): TrustBinding {
  const bad = (why: string, cause?: unknown) =>
    new TbitError('TBIT_TRUST_BUNDLE_INVALID', `trust binding: ${why}`, undefined, cause);
  if (!Array.isArray(issuers) || issuers.length === 0) throw bad('issuers must name at least one issuer');
  if (!Array.isArray(trustDomains) || trustDomains.length === 0)
    throw bad('trust_domains must name at least one trust domain');
  for (const iss of issuers) {
    try {
      parseSpiffeId(iss);
    } catch (e) {
      throw bad(`issuer ${JSON.stringify(iss)} is not a SPIFFE ID`, e);
    }
  }
  for (const td of trustDomains) {
    let path: string | undefined;
    try {
      path = parseSpiffeId(`spiffe://${td}`).path;
    } catch {
      // reported below
    }
    if (typeof td !== 'string' || path !== '')
      throw bad(`trust domain ${JSON.stringify(td)} is not a trust domain name (e.g. sigil.mesh)`);
  }
  return { issuers: new Set(issuers), trustDomains: new Set(trustDomains) };
}

/** A TrustStore that can be refreshed in place (and mirrored: docs/workers.md §2). */
export interface MutableTrustStore extends ReplicableTrustStore {
  /**
   * Replaces the given parts and re-reads function sources. Atomic: when anything is invalid, throws
   * TBIT_TRUST_BUNDLE_INVALID and keeps the previous state.
   */
  update(next?: Partial<TrustStoreInput>): void;
  /** Number of trusted issuer keys. */
  readonly keyCount: number;
}

function read<T>(s: Source<T>): T {
  return typeof s === 'function' ? (s as () => T)() : s;
}

/**
 * Creates a trust store whose keys all carry the input's binding. JWKS keys are imported to KeyObjects once per
 * update, so a lookup on the hot path is one Map read. `version` grows on every successful update (verified-chain
 * caches key on it).
 */
export function createTrustStore(input: TrustStoreInput): MutableTrustStore {
  let current: TrustStoreInput = { ...input };
  let keys = new Map<string, TrustedIssuerKey>();
  let revoked = { tasks: new Set<string>(), jtis: new Set<string>() };
  let version = 0;
  const listeners = changeListeners();

  const load = (src: TrustStoreInput): void => {
    let jwks: JsonWebKeySet;
    let rev: RevocationList | undefined;
    try {
      jwks = read(src.jwks);
      rev = src.revocations === undefined ? jwks.revocations : read(src.revocations);
    } catch (e) {
      if (e instanceof TbitError) throw e;
      throw new TbitError('TBIT_TRUST_BUNDLE_INVALID', 'trust source failed', undefined, e);
    }
    const binding = trustBinding(src.issuers, src.trustDomains);
    const nextKeys = new Map<string, TrustedIssuerKey>();
    // One object per key, built here, so the hot path allocates nothing.
    for (const [kid, key] of importJwks(jwks)) nextKeys.set(kid, Object.freeze({ key, ...binding }));
    const nextRevoked = parseRevocations(rev);
    // Commit only after everything parsed, so a bad update never leaves a half-loaded store.
    keys = nextKeys;
    revoked = nextRevoked;
    current = src;
    version++;
    listeners.emit();
  };
  load(current);

  return {
    issuerKey(_iss: string, kid: string): TrustedIssuerKey | undefined {
      // One binding for the whole store: the verifier checks iss and the sub's trust domain against it.
      return keys.get(kid);
    },
    isRevoked(c: Pick<TbitClaims, 'jti' | 'task_id'>): boolean {
      return revoked.jtis.has(c.jti) || revoked.tasks.has(c.task_id);
    },
    get version() {
      return version;
    },
    get keyCount() {
      return keys.size;
    },
    update(next?: Partial<TrustStoreInput>): void {
      load({ ...current, ...next });
    },
    snapshot(): TrustSnapshot {
      const { issuers, trustDomains } = trustBinding(current.issuers, current.trustDomains);
      return {
        format: 'sigil.trust/1',
        version,
        sources: [
          {
            issuers: [...issuers],
            trustDomains: [...trustDomains],
            keys: [...keys].map(([kid, k]) => ({ kid, x: k.key.export({ format: 'jwk' }).x as string })),
          },
        ],
        revoked: { jtis: [...revoked.jtis], tasks: [...revoked.tasks], all: false },
      };
    },
    subscribe: listeners.add,
  };
}
