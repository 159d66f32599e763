/**
 * The verifier's trust data for this sidecar (docs/keys.md §Trust): this issuer's own published keys
 * (read from the key store, so rotations by the CLI show up), an optional configured trust bundle
 * (`sigil.validator.trust_bundle`: other issuers' JWKS) and the revocation list.
 */
import type { KeyObject } from 'node:crypto';
import { issuerId, type SigilConfig } from '../config/index.js';
import type { TbitClaims, TrustStore } from '../token/api.js';
import type { KeyStores } from './open-stores.js';
import type { RevocationStore } from './revocation-store.js';

/** A TrustStore that can be closed (stops bundle refresh timers). */
export interface LocalTrustStore extends TrustStore {
  close(): void;
}

/** Inputs of {@link localTrustStore}. */
export interface LocalTrustDeps {
  keys: KeyStores;
  revocations: RevocationStore;
  /** Trust for other issuers (the configured bundle), consulted when `iss` is not this issuer. */
  bundle?: TrustStore & { close?: () => void };
}

/**
 * Builds the TrustStore `verifyChain` uses on this sidecar. A root hop from this issuer (`iss` =
 * {@link issuerId}) is checked against the key store's currently published keys, then (like every
 * other `iss`) against the bundle (absent bundle = unknown key). Revocation covers every hop of every chain.
 * `version` is the sum of monotone counters (key set changes, revocation changes, bundle version),
 * so caches keyed on it are dropped whenever any of them changes.
 */
export function localTrustStore(config: SigilConfig, deps: LocalTrustDeps): LocalTrustStore {
  const own = issuerId(config);
  const { keys, revocations, bundle } = deps;
  return {
    issuerKey(iss: string, kid: string): KeyObject | undefined {
      // Own keys first; then the bundle for any iss — other sidecars of the mesh may use the same
      // default issuer id with their own keys, and kids are thumbprints, so they never collide.
      return (iss === own ? keys.issuer.publicKey(kid) : undefined) ?? bundle?.issuerKey(iss, kid);
    },
    isRevoked(claims: Pick<TbitClaims, 'jti' | 'task_id'>): boolean {
      return revocations.isRevoked(claims) || (bundle?.isRevoked(claims) ?? false);
    },
    get version(): number {
      return keys.issuer.generation + revocations.version + (bundle?.version ?? 0);
    },
    close(): void {
      bundle?.close?.();
    },
  };
}
