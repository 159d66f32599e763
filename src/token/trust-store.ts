/** createTrustStore: the issuer keys and revocations a verifier trusts (docs/tbit.md §8). */
import type { KeyObject } from 'node:crypto';
import type { TbitClaims, TrustStore } from './api.js';
import { TbitError } from './errors.js';
import { importJwks, type JsonWebKeySet, parseRevocations, type RevocationList } from './lib/jwks.js';

/** A value or a function returning it (re-read on `update()`). */
export type Source<T> = T | (() => T);

/** Input of {@link createTrustStore}. */
export interface TrustStoreInput {
  /** Trusted issuer keys. When the JWKS has a `revocations` member and `revocations` is absent, it is used. */
  jwks: Source<JsonWebKeySet>;
  revocations?: Source<RevocationList>;
  /** Accepted root `iss` values. Absent = any iss whose kid is in the JWKS. */
  issuers?: string[];
}

/** A TrustStore that can be refreshed in place. */
export interface MutableTrustStore extends TrustStore {
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
 * Creates a trust store. JWKS keys are imported to KeyObjects once per update, so lookups on the hot path
 * are two Map reads. `version` grows on every successful update (verified-chain caches key on it).
 */
export function createTrustStore(input: TrustStoreInput): MutableTrustStore {
  let current: TrustStoreInput = { ...input };
  let keys = new Map<string, KeyObject>();
  let issuers: Set<string> | undefined;
  let revoked = { tasks: new Set<string>(), jtis: new Set<string>() };
  let version = 0;

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
    const nextKeys = importJwks(jwks);
    const nextRevoked = parseRevocations(rev);
    // Commit only after everything parsed, so a bad update never leaves a half-loaded store.
    keys = nextKeys;
    revoked = nextRevoked;
    issuers = src.issuers === undefined ? undefined : new Set(src.issuers);
    current = src;
    version++;
  };
  load(current);

  return {
    issuerKey(iss: string, kid: string): KeyObject | undefined {
      if (issuers !== undefined && !issuers.has(iss)) return undefined;
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
  };
}
