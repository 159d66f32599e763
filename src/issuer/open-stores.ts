/** Opens the data dir's issuer stores (keys, revocations) and the verifier trust built on them. */
import { join } from 'node:path';
import type { Clock } from '../lib/clock.js';
import type { TrustStore } from '../token/api.js';
import { loadTrustBundle, type TrustBundle } from '../token/index.js';
import { AgentKeyStore } from './agent-key-store.js';
import { IssuerKeyStore, type IssuerKeyStoreOptions } from './issuer-key-store.js';
import { ensureDir, ensurePrivateDir } from './lib/files.js';
import { RevocationStore } from './revocation-store.js';

/** The data dir's keys (docs/keys.md): `<data>/keys/issuer/` (signing keys) and `<data>/keys/agents/`. */
export interface KeyStores {
  /** `<dataDir>/keys`. */
  dir: string;
  issuer: IssuerKeyStore;
  agents: AgentKeyStore;
}

/** Options for {@link openKeyStores}: the issuer key options, with the data dir instead of the key dir. */
export type KeyStoresOptions = Omit<IssuerKeyStoreOptions, 'dir'> & { dataDir: string };

/** Opens `<dataDir>/keys/` (it and below forced to 0700; the data dir made 0700 only if new). Generates no key. */
export function openKeyStores({ dataDir, ...opts }: KeyStoresOptions): KeyStores {
  const dir = join(dataDir, 'keys');
  ensureDir(dataDir);
  for (const d of [dir, join(dir, 'issuer'), join(dir, 'agents')]) ensurePrivateDir(d);
  return {
    dir,
    issuer: new IssuerKeyStore({ ...opts, dir: join(dir, 'issuer') }),
    agents: new AgentKeyStore(join(dir, 'agents'), opts.clock),
  };
}

/** The issuer's settings, validated (mapped from `sigil.*` in src/serve/issuer-options.ts); seconds unless `…Ms`. */
export interface IssuerOptions extends Omit<KeyStoresOptions, 'clock'> {
  /** `iss` of minted tokens; `agentId` is this sidecar's SPIFFE ID; default `aud` is `spiffe://<trustDomain>`. */
  issuerId: string;
  agentId: string;
  trustDomain: string;
  maxChainDepth: number;
  /** Bearer credential for network Mint/Revoke; undefined = both disabled over the network. */
  operatorCredential?: string;
  revocationsPath: string;
  /** Trust bundle (other issuers' JWKS: path or URL), refreshed every `bundleRefreshMs` when watching. */
  trustBundle?: string;
  bundleRefreshMs: number;
  /** `host:port`, `[v6]:port` or `unix:/path`. */
  listenHttp: string;
  listenGrpc: string;
}

/** How {@link openIssuerStores} runs (per caller, not per deployment). */
export interface OpenStoresOptions {
  clock?: Clock;
  /** Watch the revocation file for other processes' changes (server: true, one-shot CLI: false). */
  watch?: boolean;
  /** Called when a background bundle refresh fails (the last good bundle stays in force). */
  onBundleError?: (e: Error) => void;
}

/** The opened stores. `close()` stops watchers. */
export interface IssuerStores {
  keys: KeyStores;
  revocations: RevocationStore;
  /** The TrustStore `verifyChain` uses on this sidecar (docs/keys.md §Trust). */
  trust: TrustStore;
  close(): void;
}

/**
 * Opens keys + revocations under `dataDir`, loads the trust bundle and builds the trust store over
 * them. Generates no key.
 */
export async function openIssuerStores(
  opts: IssuerOptions,
  options: OpenStoresOptions = {},
): Promise<IssuerStores> {
  const { clock, watch = true, onBundleError } = options;
  // Trust for other issuers: the configured bundle (other issuers' JWKS), if any.
  const bundle =
    opts.trustBundle === undefined
      ? undefined
      : await loadTrustBundle(opts.trustBundle, {
          ...(watch ? { refreshIntervalMs: opts.bundleRefreshMs } : {}),
          onError: onBundleError,
        });
  const { dataDir, rotationInterval, maxTtl, clockSkew } = opts;
  const keys = openKeyStores({ dataDir, rotationInterval, maxTtl, clockSkew, clock });
  const revocations = RevocationStore.open({ path: opts.revocationsPath, clock, watch });
  return {
    keys,
    revocations,
    trust: localTrust(opts.issuerId, keys, revocations, bundle),
    close() {
      bundle?.close();
      revocations.close();
    },
  };
}

/**
 * This sidecar's verifier trust: a root hop from this issuer (`own`) is checked against the key store's
 * currently published keys (so rotations by the CLI show up), then, like every other `iss`, against the
 * configured bundle (absent = unknown key). Revocation covers every hop of every chain. `version` is the
 * sum of monotone counters (key set, revocations, bundle), so caches keyed on it drop on any change.
 */
function localTrust(
  own: string,
  keys: KeyStores,
  revocations: RevocationStore,
  bundle: TrustBundle | undefined,
): TrustStore {
  return {
    issuerKey(iss, kid) {
      // Own keys first; then the bundle for any iss — other sidecars of the mesh may use the same
      // default issuer id with their own keys, and kids are thumbprints, so they never collide.
      return (iss === own ? keys.issuer.publicKey(kid) : undefined) ?? bundle?.issuerKey(iss, kid);
    },
    isRevoked(claims) {
      return revocations.isRevoked(claims) || (bundle?.isRevoked(claims) ?? false);
    },
    get version() {
      return keys.issuer.generation + revocations.version + (bundle?.version ?? 0);
    },
  };
}
