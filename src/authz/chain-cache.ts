/**
 * Step 2: chain verification with a bounded cache of verified chains (docs/authz.md §3).
 * Key: the presented token string itself; its base64url SHA-256 (the ledger's token_hash) is computed once,
 * on a miss, and kept in the entry — hashing on every hit cost more than the rest of the lookup. V8 hashes
 * Map string keys with a per-process random seed, so crafted tokens cannot flood one bucket. An entry lives
 * min(cache_ttl, chain exp) and dies as soon as the trust store's `version` moves (new keys, revocations), so
 * a revoked token is never served from the cache.
 *
 * Failures are cached too, keyed by the token's SHA-256 (never the token: forged tokens are attacker-chosen
 * and up to 16 KiB), so a replayed forged or expired token costs one hash instead of an Ed25519 verify.
 * Only verdicts that cannot turn into an allow while the trust store is unchanged are kept: not
 * `TBIT_NOT_YET_VALID` (time fixes it) nor `TBIT_TRUST_BUNDLE_INVALID` / `TBIT_TRUST_SOURCE_REFUSED` (transient). The same version rule
 * clears them, so a key that becomes trusted un-denies its tokens at once.
 */
import { LRUCache } from 'lru-cache';
import { sha256 } from '../lib/bytes.js';
import type { Clock } from '../lib/clock.js';
import type { VerifiedChain, VerifyOptions } from '../token/api.js';
import { TbitError } from '../token/errors.js';
import { verifyChain } from '../token/verify.js';

/** The token module's chain verifier (src/token verifyChain). */
export type ChainVerifier = (token: string, options: VerifyOptions) => VerifiedChain | Promise<VerifiedChain>;

/**
 * Options for {@link ChainCache}: the verifier's own options (never a `tool`: entries are per token, not per
 * tool) with a clock and an audience always set, plus the cache's bounds.
 */
export interface ChainCacheOptions extends Omit<VerifyOptions, 'tool'> {
  /** Default: the token module's verifyChain. */
  verify?: ChainVerifier;
  clock: Clock;
  /** Expected leaf audience (this sidecar's SPIFFE ID). */
  audience: string;
  /** validator.cache_ttl, seconds. */
  ttlSeconds: number;
  /** Most entries kept (least recently used evicted first). Default 10 000. */
  maxEntries?: number;
  /**
   * Most token characters kept across entries (LRU eviction). Default 32 MiB. A holder can mint valid local
   * delegations of up to 16 KiB each, so the entry count alone would let one agent pin ~160 MB.
   */
  maxBytes?: number;
  /** Most failed verdicts kept (least recently used evicted first; 0 = none). Default 10 000. */
  maxFailures?: number;
}

/** Failure codes that time or a transient fault can change; never cached. */
const UNCACHEABLE_FAILURES: ReadonlySet<string> = new Set([
  'TBIT_NOT_YET_VALID',
  'TBIT_TRUST_BUNDLE_INVALID',
  'TBIT_TRUST_SOURCE_REFUSED',
]);

interface Failure {
  error: TbitError;
  expiresAtMs: number;
}

interface Entry {
  /** What every hit returns, built once (no allocation per hit). */
  hit: CachedChain;
  expiresAtMs: number;
}

/** Result of {@link ChainCache.get}: the chain and whether it came from the cache. */
export interface CachedChain {
  chain: VerifiedChain;
  hit: boolean;
  tokenHash: string;
}

/** Verified-chain cache in front of verifyChain. */
export class ChainCache {
  readonly #opts: ChainCacheOptions;
  /** Verified chains by token; sized by token length so maxBytes bounds the characters kept. */
  readonly #map: LRUCache<string, Entry>;
  /** Failed verdicts by token hash; undefined when turned off (maxFailures 0). */
  readonly #failures: LRUCache<string, Failure> | undefined;
  #version: number;

  constructor(opts: ChainCacheOptions) {
    this.#opts = opts;
    this.#map = new LRUCache<string, Entry>({
      max: Math.max(1, opts.maxEntries ?? 10_000),
      maxSize: Math.max(1, opts.maxBytes ?? 32 * 1024 * 1024),
      sizeCalculation: (_entry, token) => Math.max(1, token.length),
    });
    const maxFailures = Math.max(0, opts.maxFailures ?? 10_000);
    this.#failures = maxFailures > 0 ? new LRUCache<string, Failure>({ max: maxFailures }) : undefined;
    this.#version = opts.trust.version;
  }

  /** Number of cached chains. */
  get size(): number {
    return this.#map.size;
  }

  /** Number of cached failed verdicts. */
  get failures(): number {
    return this.#failures?.size ?? 0;
  }

  /** Sum of the cached tokens' lengths (what {@link ChainCacheOptions.maxBytes} bounds). */
  get bytes(): number {
    return this.#map.calculatedSize;
  }

  /** The verified chain for `token`; throws the verifier's TbitError when it does not verify. */
  async get(token: string): Promise<CachedChain> {
    const o = this.#opts;
    const now = o.clock.nowMs();
    if (o.trust.version !== this.#version) {
      this.#map.clear();
      this.#failures?.clear();
      this.#version = o.trust.version;
    }
    const hit = this.#map.get(token);
    if (hit !== undefined) {
      if (hit.expiresAtMs > now) return hit.hit;
      this.#map.delete(token);
    }
    const tokenHash = sha256(token, 'base64url');
    const failed = this.#failures?.get(tokenHash);
    if (failed !== undefined) {
      if (failed.expiresAtMs > now) throw failed.error;
      this.#failures?.delete(tokenHash);
    }
    const version = o.trust.version;
    let chain: VerifiedChain;
    try {
      chain = await (o.verify ?? verifyChain)(token, o);
    } catch (e) {
      if (
        e instanceof TbitError &&
        !UNCACHEABLE_FAILURES.has(e.code) &&
        version === o.trust.version &&
        version === this.#version
      ) {
        this.#failures?.set(tokenHash, { error: e, expiresAtMs: now + o.ttlSeconds * 1000 });
      }
      throw e;
    }
    // Only cache when trust did not change while verifying (a revocation could have raced us).
    if (version === o.trust.version && version === this.#version) {
      const expiresAtMs = Math.min(now + o.ttlSeconds * 1000, chain.exp * 1000);
      // A token longer than maxBytes on its own is not kept (lru-cache refuses entries above maxSize).
      if (expiresAtMs > now) {
        this.#map.set(token, { hit: Object.freeze({ chain, hit: true, tokenHash }), expiresAtMs });
      }
    }
    return { chain, hit: false, tokenHash };
  }
}
