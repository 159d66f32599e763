/**
 * Issuer and agent Ed25519 keys in the data dir (docs/keys.md).
 *
 * Layout: `<data>/keys/` (0700) holds `issuer/<kid>.jwk.json` and `agents/<hash>.jwk.json` (0600 each).
 * Key files are immutable once written (atomic rename), so the CLI and the server can share the
 * directory: a reader only has to notice new or removed names. Rotation = writing a newer issuer key
 * file; the newest key signs. A retired key stays published until every token it can have signed has
 * expired (retired_at + max_ttl + clock_skew), then it is pruned.
 * `kid` is the RFC 7638 JWK thumbprint of the public key (RFC 8037 §2 member set: crv, kty, x).
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Clock, systemClock } from '../lib/clock.js';
import { generateEd25519 } from '../lib/ed25519-key.js';
import type { Ed25519PrivateJwk, Ed25519PublicJwk } from '../token/api.js';
import { jwkThumbprint, parseSpiffeId } from '../token/index.js';
import { IssuerError } from './errors.js';
import { ensureDir, ensurePrivateDir, withFileLock, writeFileAtomic } from './lib/files.js';

/** Options for {@link KeyStore.open}. */
export interface KeyStoreOptions {
  /** The data dir; keys live in `<dataDir>/keys/`. */
  dataDir: string;
  /** Seconds a signing key is used before a new one replaces it (`sigil.issuer.key_rotation_interval`). */
  rotationInterval: number;
  /** Longest token lifetime in seconds (`sigil.issuer.max_ttl`): bounds how long a retired key is published. */
  maxTtl: number;
  /** Verifier clock skew in seconds (`sigil.validator.clock_skew`): added to the publication window. */
  clockSkew: number;
  /** Injectable clock (frozen in tests). */
  clock?: Clock;
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

/** A key held for a local SPIFFE ID (the sidecar's agent, or a dev/demo identity). */
export interface AgentKey {
  spiffeId: string;
  /** RFC 7638 thumbprint of the public key. */
  kid: string;
  createdAt: number;
  privateKey: KeyObject;
  /** Public key as it appears in a token's `cnf.jwk`. */
  publicJwk: Ed25519PublicJwk & { kid: string };
}

interface IssuerEntry {
  kid: string;
  createdAt: number;
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicJwk: JwksKey;
}

/** How long the verifier path trusts its last directory listing (ms), and how often a kid miss may re-list. */
const VERIFY_RELIST_MS = 1000;
const MISS_RELIST_MS = 100;

const ISSUER_SUFFIX = '.jwk.json';

/** Generates an Ed25519 key pair and returns the private key plus its private JWK with `kid`. */
function generate(): { privateKey: KeyObject; jwk: Ed25519PrivateJwk & { kid: string } } {
  const { privateKey } = generateEd25519();
  const exported = privateKey.export({ format: 'jwk' }) as { kty: string; crv: string; x: string; d: string };
  const pub: Ed25519PublicJwk = { kty: 'OKP', crv: 'Ed25519', x: exported.x };
  return { privateKey, jwk: { ...pub, d: exported.d, kid: jwkThumbprint(pub) } };
}

/**
 * Parses one key file and checks it fully: shape, that `d` really yields `x` and that `kid` is the
 * thumbprint. Anything off → ISSUER_STORE_CORRUPT (never sign or publish with a key we can't trust).
 */
function parseKeyFile(path: string): {
  doc: Record<string, unknown>;
  privateKey: KeyObject;
  pub: Ed25519PublicJwk;
  kid: string;
  createdAt: number;
} {
  const corrupt = (why: string, cause?: unknown) =>
    new IssuerError('ISSUER_STORE_CORRUPT', `key file ${path}: ${why}`, cause);
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw corrupt('unreadable or not JSON', e);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw corrupt('not an object');
  const d = doc as Record<string, unknown>;
  const jwk = d.jwk as Record<string, unknown> | undefined;
  if (typeof jwk !== 'object' || jwk === null) throw corrupt('missing jwk');
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string' || typeof jwk.d !== 'string') {
    throw corrupt('jwk must be an Ed25519 private key');
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d }, format: 'jwk' });
  } catch (e) {
    throw corrupt('jwk does not import', e);
  }
  const derived = (createPublicKey(privateKey).export({ format: 'jwk' }) as { x: string }).x;
  if (derived !== jwk.x) throw corrupt('private key does not match x');
  const pub: Ed25519PublicJwk = { kty: 'OKP', crv: 'Ed25519', x: jwk.x };
  const kid = jwkThumbprint(pub);
  if (d.kid !== kid) throw corrupt('kid is not the RFC 7638 thumbprint');
  const createdAt = typeof d.created_at === 'string' ? Date.parse(d.created_at) : Number.NaN;
  if (!Number.isFinite(createdAt)) throw corrupt('created_at must be an ISO 8601 date');
  return { doc: d, privateKey, pub, kid, createdAt };
}

/** File name for a local SPIFFE ID's key: SHA-256 keeps it short and filesystem-safe (the ID is inside). */
function agentFileName(spiffeId: string): string {
  return `${createHash('sha256').update(spiffeId).digest('hex').slice(0, 32)}${ISSUER_SUFFIX}`;
}

/**
 * The data dir's key store. Cheap to call on every request: each access re-lists the key
 * directories (one readdir) and only parses files it has not seen, so keys created or rotated by
 * another process (e.g. `sigil keys rotate`) are picked up on the next call.
 */
export class KeyStore {
  readonly dir: string;
  private readonly issuerDir: string;
  private readonly agentDir: string;
  private readonly lockPath: string;
  private readonly clock: Clock;
  private readonly opts: KeyStoreOptions;
  private issuerCache = new Map<string, IssuerEntry>();
  private agentCache = new Map<string, AgentKey>();
  private sorted: IssuerEntry[] = [];
  private changes = 0;
  private dirty = false;
  private listedAt = Number.NEGATIVE_INFINITY;
  private missAt = Number.NEGATIVE_INFINITY;

  private constructor(opts: KeyStoreOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.dir = join(opts.dataDir, 'keys');
    this.issuerDir = join(this.dir, 'issuer');
    this.agentDir = join(this.dir, 'agents');
    this.lockPath = join(this.dir, '.lock');
  }

  /** Opens the key store under `opts.dataDir` (`keys/` and below forced to 0700; the data dir made 0700 only if new). Generates no key yet. */
  static open(opts: KeyStoreOptions): KeyStore {
    const ks = new KeyStore(opts);
    ensureDir(opts.dataDir);
    ensurePrivateDir(ks.dir);
    ensurePrivateDir(ks.issuerDir);
    ensurePrivateDir(ks.agentDir);
    return ks;
  }

  // ---------------------------------------------------------------- issuer keys

  private loadIssuer(): IssuerEntry[] {
    let names: string[];
    try {
      names = readdirSync(this.issuerDir).filter((n) => n.endsWith(ISSUER_SUFFIX) && !n.startsWith('.'));
    } catch (e) {
      throw new IssuerError('ISSUER_STORE_CORRUPT', `cannot list ${this.issuerDir}`, e);
    }
    const seen = new Set(names);
    for (const name of [...this.issuerCache.keys()]) {
      if (!seen.has(name)) {
        this.issuerCache.delete(name);
        this.dirty = true;
      }
    }
    for (const name of names) {
      if (this.issuerCache.has(name)) continue;
      // Set before parsing: if a later file throws, the next call still re-sorts what was cached.
      this.dirty = true;
      const path = join(this.issuerDir, name);
      let parsed: ReturnType<typeof parseKeyFile>;
      try {
        parsed = parseKeyFile(path);
      } catch (e) {
        // Pruned by another process between readdir and read: not corruption.
        if (!existsSync(path)) continue;
        throw e;
      }
      if (name !== `${parsed.kid}${ISSUER_SUFFIX}`) {
        throw new IssuerError('ISSUER_STORE_CORRUPT', `key file ${path}: name does not match its kid`);
      }
      this.issuerCache.set(name, {
        kid: parsed.kid,
        createdAt: parsed.createdAt,
        privateKey: parsed.privateKey,
        publicKey: createPublicKey(parsed.privateKey),
        publicJwk: { ...parsed.pub, kid: parsed.kid, use: 'sig', alg: 'EdDSA' },
      });
    }
    this.listedAt = performance.now();
    if (this.dirty) {
      this.dirty = false;
      this.changes++;
      // Oldest first; the last one signs. kid breaks ties so every process agrees.
      this.sorted = [...this.issuerCache.values()].sort(
        (a, b) => a.createdAt - b.createdAt || (a.kid < b.kid ? -1 : 1),
      );
    }
    return this.sorted;
  }

  private writeIssuerKey(): IssuerEntry {
    const { privateKey, jwk } = generate();
    // Strictly newer than every existing key, so the new key is the signer even when two rotations
    // fall in the same millisecond (or under a frozen clock): order is by created_at first.
    const newest = this.loadIssuer().at(-1);
    const createdAt = Math.max(this.clock.nowMs(), (newest?.createdAt ?? Number.NEGATIVE_INFINITY) + 1);
    const doc = { kid: jwk.kid, created_at: new Date(createdAt).toISOString(), jwk };
    writeFileAtomic(join(this.issuerDir, `${jwk.kid}${ISSUER_SUFFIX}`), `${JSON.stringify(doc, null, 2)}\n`);
    return {
      kid: jwk.kid,
      createdAt,
      privateKey,
      publicKey: createPublicKey(privateKey),
      publicJwk: { kty: 'OKP', crv: 'Ed25519', x: jwk.x, kid: jwk.kid, use: 'sig', alg: 'EdDSA' },
    };
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
      const next = keys[i + 1];
      const retiredAt = next?.createdAt;
      return {
        kid: k.kid,
        createdAt: k.createdAt,
        retiredAt,
        publishUntil: retiredAt === undefined ? undefined : retiredAt + this.graceMs,
        signing: next === undefined,
        publicJwk: k.publicJwk,
      };
    });
  }

  /** Deletes retired keys whose publication window has closed. Returns the pruned kids. */
  prune(): string[] {
    return this.pruneFrom(this.loadIssuer());
  }

  /** {@link prune} from an already-made listing: the common case (nothing expired) costs no syscall. */
  private pruneFrom(keys: IssuerEntry[]): string[] {
    const expired = (list: IssuerEntry[]) =>
      this.describe(list).filter((k) => k.publishUntil !== undefined && k.publishUntil <= this.clock.nowMs());
    if (expired(keys).length === 0) return [];
    return withFileLock(this.lockPath, () => {
      const gone = expired(this.loadIssuer());
      for (const k of gone) rmSync(join(this.issuerDir, `${k.kid}${ISSUER_SUFFIX}`), { force: true });
      this.loadIssuer();
      return gone.map((k) => k.kid);
    });
  }

  /**
   * The current signing key: generated on first use, rotated when older than the rotation
   * interval (under the store lock, re-checked after taking it so two processes don't both rotate),
   * and retired keys past their window pruned.
   */
  signer(): IssuerSigner {
    let keys = this.loadIssuer();
    if (this.rotationDue(keys)) {
      keys = withFileLock(this.lockPath, () => {
        const again = this.loadIssuer();
        if (this.rotationDue(again)) this.writeIssuerKey();
        return this.loadIssuer();
      });
    }
    this.pruneFrom(keys);
    const s = keys[keys.length - 1]!;
    return { kid: s.kid, privateKey: s.privateKey, publicJwk: s.publicJwk };
  }

  /** Forces a rotation now (`sigil keys rotate`): a new key becomes the signer. */
  rotate(): IssuerKeyInfo {
    withFileLock(this.lockPath, () => this.writeIssuerKey());
    this.prune();
    const all = this.describe(this.loadIssuer());
    return all[all.length - 1]!;
  }

  /** Every issuer key still published (signer last), with its retirement timeline. */
  issuerKeys(): IssuerKeyInfo[] {
    const now = this.clock.nowMs();
    return this.describe(this.loadIssuer()).filter(
      (k) => k.publishUntil === undefined || k.publishUntil > now,
    );
  }

  /**
   * Verifier lookup: the public key for `kid` if it is published now. Hot path, so the directory
   * listing is reused for up to 1 s; an unknown kid (e.g. just rotated by another process) forces a
   * re-list at most every 100 ms so a flood of made-up kids cannot turn into a flood of readdirs.
   */
  issuerPublicKey(kid: string): KeyObject | undefined {
    const t = performance.now();
    let keys = t - this.listedAt > VERIFY_RELIST_MS ? this.loadIssuer() : this.sorted;
    let i = keys.findIndex((k) => k.kid === kid);
    if (i === -1 && t - this.missAt > MISS_RELIST_MS) {
      this.missAt = t;
      keys = this.loadIssuer();
      i = keys.findIndex((k) => k.kid === kid);
    }
    if (i === -1) return undefined;
    const next = keys[i + 1];
    // Past its publication window the key no longer verifies, even if no process has pruned it yet.
    if (next !== undefined && next.createdAt + this.graceMs <= this.clock.nowMs()) return undefined;
    return keys[i]!.publicKey;
  }

  /** Grows whenever the set of issuer keys on disk changes (rotation, pruning, another process). */
  get generation(): number {
    return this.changes;
  }

  /** The JWKS document: every published issuer public key (`/.well-known/jwks.json`). */
  jwks(): Jwks {
    return { keys: this.issuerKeys().map((k) => k.publicJwk) };
  }

  // ---------------------------------------------------------------- agent keys

  private loadAgents(): Map<string, AgentKey> {
    let names: string[];
    try {
      names = readdirSync(this.agentDir).filter((n) => n.endsWith(ISSUER_SUFFIX) && !n.startsWith('.'));
    } catch (e) {
      throw new IssuerError('ISSUER_STORE_CORRUPT', `cannot list ${this.agentDir}`, e);
    }
    const byId = new Map<string, AgentKey>();
    const seen = new Set(names);
    for (const name of [...this.agentCache.keys()]) if (!seen.has(name)) this.agentCache.delete(name);
    for (const name of names) {
      let key = this.agentCache.get(name);
      if (!key) {
        const path = join(this.agentDir, name);
        const parsed = parseKeyFile(path);
        const id = parsed.doc.spiffe_id;
        if (typeof id !== 'string' || agentFileName(id) !== name) {
          throw new IssuerError(
            'ISSUER_STORE_CORRUPT',
            `key file ${path}: spiffe_id missing or does not match the file name`,
          );
        }
        key = {
          spiffeId: id,
          kid: parsed.kid,
          createdAt: parsed.createdAt,
          privateKey: parsed.privateKey,
          publicJwk: { ...parsed.pub, kid: parsed.kid },
        };
        this.agentCache.set(name, key);
      }
      byId.set(key.spiffeId, key);
    }
    return byId;
  }

  /** The key held for a local SPIFFE ID, if any. */
  agentKey(spiffeId: string): AgentKey | undefined {
    return this.loadAgents().get(spiffeId);
  }

  /**
   * The key for a local SPIFFE ID, created on first use (`sigil keys init --agent`, and the
   * sidecar's own agent at start-up). The ID is validated per the SPIFFE ID spec first.
   */
  ensureAgentKey(spiffeId: string): AgentKey {
    parseSpiffeId(spiffeId);
    const existing = this.agentKey(spiffeId);
    if (existing) return existing;
    return withFileLock(this.lockPath, () => {
      const again = this.agentKey(spiffeId);
      if (again) return again;
      const { jwk } = generate();
      const doc = {
        spiffe_id: spiffeId,
        kid: jwk.kid,
        created_at: new Date(this.clock.nowMs()).toISOString(),
        jwk,
      };
      writeFileAtomic(join(this.agentDir, agentFileName(spiffeId)), `${JSON.stringify(doc, null, 2)}\n`);
      return this.agentKey(spiffeId)!;
    });
  }

  /** Every locally held agent key. */
  agentKeys(): AgentKey[] {
    return [...this.loadAgents().values()].sort((a, b) => (a.spiffeId < b.spiffeId ? -1 : 1));
  }

  /** The locally held key whose public key equals `jwk` (compares `x`; kty/crv must be OKP/Ed25519). */
  agentKeyFor(jwk: Ed25519PublicJwk): AgentKey | undefined {
    if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519') return undefined;
    for (const k of this.loadAgents().values()) if (k.publicJwk.x === jwk.x) return k;
    return undefined;
  }
}
