/**
 * Keys held for local SPIFFE IDs (the sidecar's own agent, or dev/demo identities):
 * `<data>/keys/agents/<hash>.jwk.json`, immutable once written (docs/keys.md).
 */
import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { writeFileAtomic } from '../lib/atomic-write.js';
import { sha256 } from '../lib/bytes.js';
import { type Clock, systemClock } from '../lib/clock.js';
import type { LifecycleVia, OnLifecycle } from '../lib/lifecycle-event.js';
import type { Ed25519PublicJwk } from '../token/api.js';
import { parseSpiffeId } from '../token/index.js';
import { IssuerError } from './errors.js';
import { keyEvent } from './issuer-key-store.js';
import { generateKey, KEY_SUFFIX, keyFileText, listKeyFiles, parseKeyFile } from './lib/key-file.js';

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

/** File name for a local SPIFFE ID's key: SHA-256 keeps it short and filesystem-safe (the ID is inside). */
function agentFileName(spiffeId: string): string {
  return `${sha256(spiffeId, 'hex').slice(0, 32)}${KEY_SUFFIX}`;
}

/** The agent key directory; re-listed on every access so keys made by another process show up. */
export class AgentKeyStore {
  private readonly dir: string;
  private readonly clock: Clock;
  private cache = new Map<string, AgentKey>();

  private readonly events: { onLifecycle?: OnLifecycle; via?: LifecycleVia };

  /** `dir` is created by the caller (mode 0700); `events` reports each key this process creates. */
  constructor(
    dir: string,
    clock: Clock = systemClock,
    events: { onLifecycle?: OnLifecycle; via?: LifecycleVia } = {},
  ) {
    this.dir = dir;
    this.clock = clock;
    this.events = events;
  }

  private load(): Map<string, AgentKey> {
    const names = listKeyFiles(this.dir);
    const byId = new Map<string, AgentKey>();
    const seen = new Set(names);
    for (const name of [...this.cache.keys()]) if (!seen.has(name)) this.cache.delete(name);
    for (const name of names) {
      let key = this.cache.get(name);
      if (!key) {
        const path = join(this.dir, name);
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
        this.cache.set(name, key);
      }
      byId.set(key.spiffeId, key);
    }
    return byId;
  }

  /** The key held for a local SPIFFE ID, if any. */
  get(spiffeId: string): AgentKey | undefined {
    return this.load().get(spiffeId);
  }

  /** The key for a local SPIFFE ID, created on first use. The ID is validated per the SPIFFE ID spec first. */
  ensure(spiffeId: string): AgentKey {
    parseSpiffeId(spiffeId);
    const existing = this.get(spiffeId);
    if (existing) return existing;
    const { jwk } = generateKey();
    const doc = {
      spiffe_id: spiffeId,
      kid: jwk.kid,
      created_at: new Date(this.clock.nowMs()).toISOString(),
      jwk,
    };
    // Create-once without a lock: if another process made this ID's key first, theirs is kept and read back.
    writeFileAtomic(join(this.dir, agentFileName(spiffeId)), keyFileText(doc), 0o600, true);
    const key = this.get(spiffeId)!;
    if (key.kid === jwk.kid) {
      const { onLifecycle, via = 'serve' } = this.events;
      onLifecycle?.(keyEvent('key.create', key.kid, via, { key_type: 'agent', sub: spiffeId }));
    }
    return key;
  }

  /** Every held key, sorted by SPIFFE ID. */
  all(): AgentKey[] {
    return [...this.load().values()].sort((a, b) => (a.spiffeId < b.spiffeId ? -1 : 1));
  }

  /** The held key whose public key equals `jwk` (compares `x`; kty/crv must be OKP/Ed25519). */
  byPublicKey(jwk: Ed25519PublicJwk): AgentKey | undefined {
    if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519') return undefined;
    for (const k of this.load().values()) if (k.publicJwk.x === jwk.x) return k;
    return undefined;
  }
}
