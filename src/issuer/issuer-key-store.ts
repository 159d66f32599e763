/**
 * The issuer's Ed25519 signing keys: `<data>/keys/issuer/<kid>.jwk.json` (docs/keys.md).
 *
 * Key files are immutable once written (atomic rename), so the CLI and the server can share the
 * directory: a reader only has to notice new or removed names. Rotation = writing a newer key file;
 * the newest key signs. A retired key stays published until every token it can have signed has
 * expired (retired_at + max_ttl + clock_skew), then it is pruned.
 * `kid` is the RFC 7638 JWK thumbprint of the public key (RFC 8037 §2 member set: crv, kty, x).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../lib/atomic-write.js';
import { changeListeners } from '../lib/change-listeners.js';
import { type Clock, systemClock } from '../lib/clock.js';
import type { KeyEntry, LifecycleVia, OnLifecycle } from '../lib/lifecycle-event.js';
import type { Ed25519PublicJwk } from '../token/api.js';
import { IssuerError } from './errors.js';
import { withFileLock, withFileLockSync } from './lib/files.js';
import {
  generateKey,
  KEY_SUFFIX,
  type KeyFile,
  keyFileText,
  listKeyFiles,
  parseKeyFile,
} from './lib/key-file.js';

/** Options for {@link IssuerKeyStore}. */
export interface IssuerKeyStoreOptions {
  /** The directory of issuer key files (created by the caller, mode 0700). */
  dir: string;
  /** Seconds a signing key is used before a new one replaces it (`sigil.issuer.key_rotation_interval`). */
  rotationInterval: number;
  /** Longest token lifetime in seconds (`sigil.issuer.max_ttl`): bounds how long a retired key is published. */
  maxTtl: number;
  /** Verifier clock skew in seconds (`sigil.validator.clock_skew`): added to the publication window. */
  clockSkew: number;
  /** Injectable clock (frozen in tests). */
  clock?: Clock;
  /** Told of each key created, rotated in or retired (pruned) by this process (docs/ledger.md §4). */
  onLifecycle?: OnLifecycle;
  /** Who runs this store, for those events: `serve` (the sidecar) or `cli`. Default `serve`. */
  via?: LifecycleVia;
}

/** The lifecycle event of an issuer key (its kid is its RFC 7638 thumbprint). */
export function keyEvent(
  kind: KeyEntry['kind'],
  kid: string,
  via: LifecycleVia,
  more: Pick<KeyEntry, 'sub' | 'prev_kid' | 'key_type'> = { key_type: 'issuer' },
): KeyEntry {
  return { kind, via, kid, thumbprint: kid, alg: 'EdDSA', ...more };
}

/** A public key as published in the JWKS (RFC 7517 §4: `use`, `alg`, `kid`). */
export interface JwksKey extends Ed25519PublicJwk {
  kid: string;
  use: 'sig';
  alg: 'EdDSA';
}

/** A JWK Set document (RFC 7517 §5). */
export interface Jwks {
  keys: JwksKey[];
}

/** Public facts about one issuer key. Times are epoch milliseconds. */
export interface IssuerKeyInfo {
  kid: string;
  createdAt: number;
  /** When a newer key took over signing; undefined for the current signer. */
  retiredAt: number | undefined;
  /** Until when the key stays in the JWKS; undefined for the current signer. */
  publishUntil: number | undefined;
  /** True for the key that signs new tokens. */
  signing: boolean;
  publicJwk: JwksKey;
}

/** An issuer signing key. */
export interface IssuerSigner {
  kid: string;
  privateKey: KeyObject;
  publicJwk: JwksKey;
}

interface IssuerEntry extends IssuerSigner {
  createdAt: number;
  publicKey: KeyObject;
}

/** How long the verifier path trusts its last directory listing (ms), and how often a kid miss may re-list. */
const VERIFY_RELIST_MS = 1000;
const MISS_RELIST_MS = 100;

function entry(kid: string, createdAt: number, privateKey: KeyObject, x: string): IssuerEntry {
  const publicJwk: JwksKey = { kty: 'OKP', crv: 'Ed25519', x, kid, use: 'sig', alg: 'EdDSA' };
  return { kid, createdAt, privateKey, publicKey: createPublicKey(privateKey), publicJwk };
}

/**
 * The issuer key directory. Cheap to call on every request: each access re-lists the directory
 * (one readdir) and only parses files it has not seen, so keys created or rotated by another
 * process (e.g. `sigil keys rotate`) are picked up on the next call.
 */
export class IssuerKeyStore {
  private readonly dir: string;
  private readonly lockPath: string;
  private readonly clock: Clock;
  private readonly opts: IssuerKeyStoreOptions;
  private cache = new Map<string, IssuerEntry>();
  private sorted: IssuerEntry[] = [];
  private changes = 0;
  private dirty = false;
  private listedAt = Number.NEGATIVE_INFINITY;
  private missAt = Number.NEGATIVE_INFINITY;
  private readonly listeners = changeListeners();

  constructor(opts: IssuerKeyStoreOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.dir = opts.dir;
    this.lockPath = join(opts.dir, '.rotate.lock');
  }

  private load(): IssuerEntry[] {
    const names = listKeyFiles(this.dir);
    const seen = new Set(names);
    for (const name of [...this.cache.keys()]) {
      if (!seen.has(name)) {
        this.cache.delete(name);
        this.dirty = true;
      }
    }
    for (const name of names) {
      if (this.cache.has(name)) continue;
      // Set before parsing: if a later file throws, the next call still re-sorts what was cached.
      this.dirty = true;
      const path = join(this.dir, name);
      let parsed: KeyFile;
      try {
        parsed = parseKeyFile(path);
      } catch (e) {
        // Pruned by another process between readdir and read: not corruption.
        if (!existsSync(path)) continue;
        throw e;
      }
      if (name !== `${parsed.kid}${KEY_SUFFIX}`) {
        throw new IssuerError('ISSUER_STORE_CORRUPT', `key file ${path}: name does not match its kid`);
      }
      this.cache.set(name, entry(parsed.kid, parsed.createdAt, parsed.privateKey, parsed.pub.x));
    }
    this.listedAt = performance.now();
    if (this.dirty) {
      this.dirty = false;
      this.changes++;
      this.listeners.emit();
      // Oldest first; the last one signs. kid breaks ties so every process agrees.
      this.sorted = [...this.cache.values()].sort(
        (a, b) => a.createdAt - b.createdAt || (a.kid < b.kid ? -1 : 1),
      );
    }
    return this.sorted;
  }

  private writeKey(): IssuerEntry {
    const { privateKey, jwk } = generateKey();
    // Strictly newer than every existing key, so the new key is the signer even when two rotations
    // fall in the same millisecond (or under a frozen clock): order is by created_at first.
    const newest = this.load().at(-1);
    const createdAt = Math.max(this.clock.nowMs(), (newest?.createdAt ?? Number.NEGATIVE_INFINITY) + 1);
    const doc = { kid: jwk.kid, created_at: new Date(createdAt).toISOString(), jwk };
    writeFileAtomic(join(this.dir, `${jwk.kid}${KEY_SUFFIX}`), keyFileText(doc));
    const via = this.opts.via ?? 'serve';
    this.opts.onLifecycle?.(
      newest === undefined
        ? keyEvent('key.create', jwk.kid, via)
        : keyEvent('key.rotate', jwk.kid, via, { key_type: 'issuer', prev_kid: newest.kid }),
    );
    return entry(jwk.kid, createdAt, privateKey, jwk.x);
  }

  private rotationDue(keys: IssuerEntry[]): boolean {
    const newest = keys[keys.length - 1];
    return newest === undefined || this.clock.nowMs() - newest.createdAt >= this.opts.rotationInterval * 1000;
  }

  /** Publication window after retirement: the longest a token signed just before retirement can still verify. */
  private get graceMs(): number {
    return (this.opts.maxTtl + this.opts.clockSkew) * 1000;
  }

  private describe(keys: IssuerEntry[]): IssuerKeyInfo[] {
    return keys.map((k, i) => {
      const retiredAt = keys[i + 1]?.createdAt;
      return {
        kid: k.kid,
        createdAt: k.createdAt,
        retiredAt,
        publishUntil: retiredAt === undefined ? undefined : retiredAt + this.graceMs,
        signing: retiredAt === undefined,
        publicJwk: k.publicJwk,
      };
    });
  }

  /** Deletes retired keys whose publication window has closed. Returns the pruned kids. */
  prune(): string[] {
    return this.pruneFrom(this.load());
  }

  /**
   * {@link prune} from an already-made listing: the common case (nothing expired) costs no syscall.
   * No lock: expiry only moves forward (a newer key never un-retires an older one) and removal is idempotent.
   */
  private pruneFrom(keys: IssuerEntry[]): string[] {
    const now = this.clock.nowMs();
    const gone = this.describe(keys).filter((k) => k.publishUntil !== undefined && k.publishUntil <= now);
    if (gone.length === 0) return [];
    const removed: string[] = [];
    for (const k of gone) {
      try {
        rmSync(join(this.dir, `${k.kid}${KEY_SUFFIX}`));
        removed.push(k.kid);
        // Only the process whose unlink succeeded reports the retirement: one entry per key.
        this.opts.onLifecycle?.(keyEvent('key.retire', k.kid, this.opts.via ?? 'serve'));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    this.load();
    return removed;
  }

  /**
   * The current signing key: generated on first use, rotated when older than the rotation interval
   * (under the rotation lock, re-checked after taking it so two processes don't both rotate), and
   * retired keys past their window pruned. Synchronous because minting is (the gRPC handlers are), so
   * the lock is not waited for: if another process holds it, it is rotating right now and the current
   * key signs until its new key appears in the listing.
   */
  signer(): IssuerSigner {
    let keys = this.load();
    if (this.rotationDue(keys)) {
      try {
        keys = withFileLockSync(this.lockPath, () => {
          if (this.rotationDue(this.load())) this.writeKey();
          return this.load();
        });
      } catch (e) {
        if (!(e instanceof IssuerError && e.code === 'ISSUER_STORE_BUSY' && keys.length > 0)) throw e;
      }
    }
    this.pruneFrom(keys);
    const { kid, privateKey, publicJwk } = keys[keys.length - 1]!;
    return { kid, privateKey, publicJwk };
  }

  /** Forces a rotation now (`sigil keys rotate`): a new key becomes the signer. Waits for the rotation lock. */
  async rotate(): Promise<IssuerKeyInfo> {
    await withFileLock(this.lockPath, () => this.writeKey());
    this.prune();
    return this.describe(this.load()).at(-1)!;
  }

  /** Every issuer key still published (signer last), with its retirement timeline. */
  keys(): IssuerKeyInfo[] {
    const now = this.clock.nowMs();
    return this.describe(this.load()).filter((k) => k.publishUntil === undefined || k.publishUntil > now);
  }

  /**
   * Verifier lookup: the public key for `kid` if it is published now. Hot path, so the directory
   * listing is reused for up to 1 s; an unknown kid (e.g. just rotated by another process) forces a
   * re-list at most every 100 ms so a flood of made-up kids cannot turn into a flood of readdirs.
   */
  publicKey(kid: string): KeyObject | undefined {
    const t = performance.now();
    let keys = t - this.listedAt > VERIFY_RELIST_MS ? this.load() : this.sorted;
    let i = keys.findIndex((k) => k.kid === kid);
    if (i === -1 && t - this.missAt > MISS_RELIST_MS) {
      this.missAt = t;
      keys = this.load();
      i = keys.findIndex((k) => k.kid === kid);
    }
    if (i === -1) return undefined;
    const next = keys[i + 1];
    // Past its publication window the key no longer verifies, even if no process has pruned it yet.
    if (next !== undefined && next.createdAt + this.graceMs <= this.clock.nowMs()) return undefined;
    return keys[i]!.publicKey;
  }

  /**
   * Calls `onChange` (coalesced, after the current work) whenever {@link generation} grows. Another process's
   * rotation is noticed on the next listing: {@link relist} makes one.
   */
  subscribe(onChange: () => void): () => void {
    return this.listeners.add(onChange);
  }

  /** Lists the key directory now (a watcher's tick: picks up keys another process wrote or pruned). */
  relist(): void {
    this.load();
  }

  /** Grows whenever the set of issuer keys on disk changes (rotation, pruning, another process). */
  get generation(): number {
    return this.changes;
  }

  /** The JWKS document: every published issuer public key (`/.well-known/jwks.json`). */
  jwks(): Jwks {
    return { keys: this.keys().map((k) => k.publicJwk) };
  }
}
