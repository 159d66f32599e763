/**
 * What a Check worker trusts, copied from the primary (docs/authz.md §12, "State"): this sidecar's
 * published issuer keys (the JWKS, RFC 7517) and its revocation list, as plain structured-cloneable data.
 * A worker answers `issuerKey` / `isRevoked` from its last applied snapshot exactly as the primary's
 * `localTrust` (src/issuer/open-stores.ts) does when no trust bundle is configured; `sigil serve` refuses
 * `sigil.authz.workers > 1` together with `sigil.validator.trust_bundle(s)` until bundles are replicated
 * too (workersFromConfig).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { IssuerStores } from '../../issuer/index.js';
import type { TrustedIssuerKey, TrustStore } from '../../token/api.js';
import { WorkersError } from './errors.js';

/** The trust a worker needs, as it crosses the process boundary. */
export interface TrustSnapshot {
  /** The primary's trust version when taken; a mirror never goes back to an older one. */
  version: number;
  /** Root `iss` values and trust domains this sidecar's own keys may vouch for. */
  issuers: string[];
  trustDomains: string[];
  /** Published issuer public keys (OKP / Ed25519 JWKs with `kid`). */
  keys: Array<{ kid: string; kty: string; crv: string; x: string }>;
  revokedTasks: string[];
  revokedJtis: string[];
  /** The primary's revocation list is unreadable: every hop counts as revoked (fail closed). */
  revocationsCorrupt: boolean;
}

/** Takes a snapshot of the primary's own-issuer trust (`binding`: the issuer id and trust domain). */
export function snapshotTrust(
  stores: Pick<IssuerStores, 'keys' | 'revocations' | 'trust'>,
  binding: { issuers: string[]; trustDomains: string[] },
): TrustSnapshot {
  const list = stores.revocations.current();
  return {
    version: stores.trust.version,
    issuers: binding.issuers,
    trustDomains: binding.trustDomains,
    keys: stores.keys.issuer.jwks().keys.map((k) => ({ kid: k.kid, kty: k.kty, crv: k.crv, x: k.x })),
    revokedTasks: list.tasks.map((e) => e.id),
    revokedJtis: list.jtis.map((e) => e.id),
    revocationsCorrupt: stores.revocations.error !== undefined,
  };
}

const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

/** A TrustStore that answers from the last snapshot the primary sent. Denies everything until the first. */
export class MirrorTrustStore implements TrustStore {
  private keys = new Map<string, TrustedIssuerKey>();
  private tasks = new Set<string>();
  private jtis = new Set<string>();
  private corrupt = true;
  private applied = -1;
  private changes = 0;

  /**
   * Applies `s` atomically. A malformed snapshot, or one older than the one in force, throws
   * WORKERS_BAD_MESSAGE and leaves the previous state in force.
   */
  apply(s: TrustSnapshot): void {
    if (
      typeof s !== 'object' ||
      s === null ||
      !Number.isSafeInteger(s.version) ||
      !strings(s.issuers) ||
      !strings(s.trustDomains) ||
      !strings(s.revokedTasks) ||
      !strings(s.revokedJtis) ||
      typeof s.revocationsCorrupt !== 'boolean' ||
      !Array.isArray(s.keys)
    )
      throw new WorkersError('WORKERS_BAD_MESSAGE', 'malformed trust snapshot');
    if (s.version < this.applied)
      throw new WorkersError(
        'WORKERS_BAD_MESSAGE',
        `trust snapshot ${s.version} is older than ${this.applied}`,
      );
    const binding = { issuers: new Set(s.issuers), trustDomains: new Set(s.trustDomains) };
    const keys = new Map<string, TrustedIssuerKey>();
    for (const k of s.keys) {
      let key: KeyObject;
      try {
        key = createPublicKey({ key: { kty: k.kty, crv: k.crv, x: k.x }, format: 'jwk' });
      } catch (e) {
        throw new WorkersError('WORKERS_BAD_MESSAGE', `trust snapshot key ${String(k.kid)}`, { cause: e });
      }
      keys.set(k.kid, Object.freeze({ key, ...binding }));
    }
    this.keys = keys;
    this.tasks = new Set(s.revokedTasks);
    this.jtis = new Set(s.revokedJtis);
    this.corrupt = s.revocationsCorrupt;
    this.applied = s.version;
    this.changes++;
  }

  /** Version of the snapshot in force (-1: none yet). */
  get appliedVersion(): number {
    return this.applied;
  }

  issuerKey(_iss: string, kid: string): TrustedIssuerKey | undefined {
    // As localTrust without bundles: the own key for `kid`; the verifier checks the binding after the signature.
    return this.keys.get(kid);
  }

  isRevoked(claims: { jti: string; task_id: string }): boolean {
    return this.corrupt || this.tasks.has(claims.task_id) || this.jtis.has(claims.jti);
  }

  get version(): number {
    return this.changes;
  }
}
