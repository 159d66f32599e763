/**
 * The data dir's keys (docs/keys.md): `<data>/keys/` (0700) holds `issuer/` ({@link IssuerKeyStore},
 * signing keys and rotation) and `agents/` ({@link AgentKeyStore}, keys held for local SPIFFE IDs).
 * This facade opens both and keeps the one-object API the service, the CLI and the benchmarks use.
 */
import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import type { Clock } from '../lib/clock.js';
import type { Ed25519PublicJwk } from '../token/api.js';
import { type AgentKey, AgentKeyStore } from './agent-key-store.js';
import { type IssuerKeyInfo, IssuerKeyStore, type IssuerSigner, type Jwks } from './issuer-key-store.js';
import { ensureDir, ensurePrivateDir } from './lib/files.js';

export type { AgentKey } from './agent-key-store.js';
export type { IssuerKeyInfo, IssuerSigner, Jwks, JwksKey } from './issuer-key-store.js';

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

/** Issuer keys and agent keys of one data dir. Every method re-reads the directories (see the stores). */
export class KeyStore {
  /** `<dataDir>/keys`. */
  readonly dir: string;
  /** The issuer signing keys. */
  readonly issuer: IssuerKeyStore;
  /** The keys held for local SPIFFE IDs. */
  readonly agents: AgentKeyStore;

  private constructor(dir: string, issuer: IssuerKeyStore, agents: AgentKeyStore) {
    this.dir = dir;
    this.issuer = issuer;
    this.agents = agents;
  }

  /** Opens the key store under `opts.dataDir` (`keys/` and below forced to 0700; the data dir made 0700 only if new). Generates no key yet. */
  static open(opts: KeyStoreOptions): KeyStore {
    const dir = join(opts.dataDir, 'keys');
    const issuerDir = join(dir, 'issuer');
    const agentDir = join(dir, 'agents');
    ensureDir(opts.dataDir);
    for (const d of [dir, issuerDir, agentDir]) ensurePrivateDir(d);
    const { dataDir: _, ...rest } = opts;
    return new KeyStore(
      dir,
      new IssuerKeyStore({ ...rest, dir: issuerDir }),
      new AgentKeyStore(agentDir, opts.clock),
    );
  }

  /** {@link IssuerKeyStore.prune}. */
  prune(): string[] {
    return this.issuer.prune();
  }

  /** {@link IssuerKeyStore.signer}. */
  signer(): IssuerSigner {
    return this.issuer.signer();
  }

  /** {@link IssuerKeyStore.rotate}. */
  rotate(): Promise<IssuerKeyInfo> {
    return this.issuer.rotate();
  }

  /** {@link IssuerKeyStore.keys}. */
  issuerKeys(): IssuerKeyInfo[] {
    return this.issuer.keys();
  }

  /** {@link IssuerKeyStore.publicKey} (verifier hot path). */
  issuerPublicKey(kid: string): KeyObject | undefined {
    return this.issuer.publicKey(kid);
  }

  /** {@link IssuerKeyStore.generation}. */
  get generation(): number {
    return this.issuer.generation;
  }

  /** {@link IssuerKeyStore.jwks}. */
  jwks(): Jwks {
    return this.issuer.jwks();
  }

  /** {@link AgentKeyStore.get}. */
  agentKey(spiffeId: string): AgentKey | undefined {
    return this.agents.get(spiffeId);
  }

  /** {@link AgentKeyStore.ensure} (`sigil keys init --agent`, and the sidecar's own agent at start-up). */
  ensureAgentKey(spiffeId: string): AgentKey {
    return this.agents.ensure(spiffeId);
  }

  /** {@link AgentKeyStore.all}. */
  agentKeys(): AgentKey[] {
    return this.agents.all();
  }

  /** {@link AgentKeyStore.byPublicKey}. */
  agentKeyFor(jwk: Ed25519PublicJwk): AgentKey | undefined {
    return this.agents.byPublicKey(jwk);
  }
}
