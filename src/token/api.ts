/**
 * The token module's public contract (types only). Implementations live beside this file, one public
 * operation per file (mint.ts, delegate.ts, verify.ts, …); internals go in src/token/lib/.
 * Other modules (issuer, authz, policy, dashboard API) code against these types.
 */
import type { KeyObject } from 'node:crypto';
import type { Clock } from '../lib/clock.js';

/** Ed25519 public key as a JWK (RFC 8037 §2). */
export interface Ed25519PublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  /** base64url of the 32-byte public key. */
  x: string;
  kid?: string;
}

/** Ed25519 private key as a JWK (RFC 8037 §2). */
export interface Ed25519PrivateJwk extends Ed25519PublicJwk {
  d: string;
}

/** Protected header of every hop (docs/tbit.md). */
export interface TbitHeader {
  alg: 'EdDSA' | 'Ed25519';
  typ: 'tbit+jwt';
  kid: string;
}

/** Claims of one hop (docs/tbit.md). Times are JWT NumericDate seconds. */
export interface TbitClaims {
  iss: string;
  /** Holder's SPIFFE ID. */
  sub: string;
  /** Audience SPIFFE ID(s); a trust-domain ID (`spiffe://td`) covers every ID in that domain. */
  aud: string | string[];
  iat: number;
  nbf: number;
  exp: number;
  jti: string;
  task_id: string;
  /** Allow-list of tool patterns (`fs.read`, `fs.*`, `*`). */
  tool_scope: string[];
  /** Holder's delegation key (RFC 7800 §3.2). Absent = this hop cannot delegate further. */
  cnf?: { jwk: Ed25519PublicJwk };
  /** base64url SHA-256 of the parent hop's compact JWS. Absent on the root. */
  par?: string;
  /** 1-based position of this hop in the chain (root = 1). */
  dep: number;
  /** Maximum chain depth this hop allows below and including itself; may only shrink. */
  dmax: number;
}

/** One verified hop. */
export interface VerifiedHop {
  header: TbitHeader;
  claims: TbitClaims;
  /** base64url SHA-256 of this hop's compact JWS (the child's `par`). */
  hash: string;
  /** The compact JWS of this hop. */
  jws: string;
}

/** Result of a successful chain verification. */
export interface VerifiedChain {
  /** Root first, leaf last. */
  hops: VerifiedHop[];
  /** Shortcut to hops[hops.length - 1].claims. */
  leaf: TbitClaims;
  /** Chain depth = hops.length. */
  depth: number;
  /** base64url SHA-256 of the whole presented token string (cache and ledger key). */
  tokenHash: string;
  /** Earliest exp along the chain (= leaf exp by the chain rules). */
  exp: number;
}

/**
 * A trusted root-signing key and what it may vouch for (docs/tbit.md §8). A root signed by `key` is accepted only
 * when its `iss` is in `issuers` and its `sub` is in one of `trustDomains` (SPIFFE Trust Domain and Bundle §3: a
 * bundle's keys are authoritative for the trust domain it represents, and no other).
 */
export interface TrustedIssuerKey {
  readonly key: KeyObject;
  /** Root `iss` values this key may sign. */
  readonly issuers: ReadonlySet<string>;
  /** Trust domain names (`sigil.mesh`, no scheme) a root's `sub` may belong to. */
  readonly trustDomains: ReadonlySet<string>;
}

/** Trusted issuer keys and revocations, as a verifier sees them. */
export interface TrustStore {
  /**
   * The key a root hop naming (iss, kid) must verify with, and its binding; undefined when no source holds `kid`.
   * When several sources hold `kid`, a store returns one bound to `iss` if there is one. The verifier checks the
   * signature first and the binding after it (TBIT_ISSUER_NOT_BOUND, TBIT_TRUST_DOMAIN_NOT_BOUND).
   */
  issuerKey(iss: string, kid: string): TrustedIssuerKey | undefined;
  /** True when the jti or the task_id has been revoked. */
  isRevoked(claims: Pick<TbitClaims, 'jti' | 'task_id'>): boolean;
  /** Bumped whenever keys or revocations change (verified-chain caches key on it). */
  readonly version: number;
}

/** Clock and limits shared by mint, delegate and verify (sigil.issuer.max_ttl, sigil.validator.*). */
export interface TokenLimits {
  clock?: Clock;
  /** Longest lifetime of any hop, seconds. Default 300. */
  maxTtl?: number;
  /** Deepest chain, hops. Default 10. */
  maxChainDepth?: number;
  /** Skew allowed when checking validity windows, seconds. Default 0. */
  clockSkew?: number;
}

/** Options for chain verification. */
export interface VerifyOptions extends TokenLimits {
  trust: TrustStore;
  /** Expected audience (this sidecar's SPIFFE ID). Omit only in offline inspection tools. */
  audience?: string;
  /** When given, the leaf scope must allow this tool. */
  tool?: string;
}

/**
 * One trusted key in a {@link TrustSnapshot}: the RFC 8037 `x` of an Ed25519 public key and, for a retired
 * issuer key, the instant (epoch ms) from which it no longer verifies (docs/workers.md §2).
 */
export interface TrustSnapshotKey {
  kid: string;
  /** base64url of the 32-byte public key (RFC 8037 §2). */
  x: string;
  /** The key verifies while `now < notAfterMs`; absent = no end. */
  notAfterMs?: number;
}

/** One key source of a {@link TrustSnapshot} and what its keys may vouch for (docs/tbit.md §8). */
export interface TrustSnapshotSource {
  issuers: string[];
  trustDomains: string[];
  keys: TrustSnapshotKey[];
}

/**
 * A store's keys, bindings and revocations as plain data, for another process (structured-cloneable: strings,
 * numbers, arrays, plain objects). The replication contract is docs/workers.md §2.
 */
export interface TrustSnapshot {
  format: 'sigil.trust/1';
  /** The source store's `version` when the snapshot was taken; a mirror refuses an older one. */
  version: number;
  /**
   * This sidecar's own issuer keys: tried first for a root whose `iss` it is bound to, and last for any other
   * (so a kid known only out of scope is still reported as not bound).
   */
  own?: TrustSnapshotSource;
  /** Other key sources (trust bundles), in lookup order: the first bound to the root's `iss` wins. */
  sources: TrustSnapshotSource[];
  /** Revoked token ids and task ids from every source; `all` = every token counts as revoked (fail closed). */
  revoked: { jtis: string[]; tasks: string[]; all: boolean };
}

/** A TrustStore whose state can be copied into another process (docs/workers.md §2). */
export interface ReplicableTrustStore extends TrustStore {
  /** What is in force now, as plain data. */
  snapshot(): TrustSnapshot;
  /**
   * Calls `onChange` after the keys or revocations changed (coalesced; take a {@link snapshot} in it). Returns the
   * function that unsubscribes.
   */
  subscribe(onChange: () => void): () => void;
}
