/** Opens the data dir's issuer stores (keys, revocations) and the verifier trust built on them. */
import { join } from 'node:path';
import { ConfigError, type SigilConfig } from '../config/index.js';
import type { Clock } from '../lib/clock.js';
import { loadTrustBundle } from '../token/index.js';
import { AgentKeyStore } from './agent-key-store.js';
import { IssuerKeyStore, type IssuerKeyStoreOptions } from './issuer-key-store.js';
import { ensureDir, ensurePrivateDir } from './lib/files.js';
import { RevocationStore } from './revocation-store.js';
import { type LocalTrustStore, localTrustStore } from './trust.js';

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

/** Options for {@link openIssuerStores}. */
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
  trust: LocalTrustStore;
  close(): void;
}

/** Path of the revocation file: `sigil.validator.revocations` when it is a path, else `<data>/revocations.json`. */
function revocationPath(config: SigilConfig): string {
  const r = config.validator.revocations;
  if (r === undefined) return join(config.data_dir, 'revocations.json');
  if (/^https?:\/\//i.test(r)) {
    // This sidecar writes its list (sigil revoke): it must be a local file. Refuse rather than ignore it.
    throw new ConfigError(
      'CONFIG_INVALID',
      'config sigil.validator.revocations: must be a file path (URLs are not supported)',
    );
  }
  return r;
}

/**
 * Opens keys + revocations under `config.data_dir`, loads the configured trust bundle (refreshed every
 * `sigil.validator.refresh_interval` when watching) and builds the trust store over them. Generates no key.
 */
export async function openIssuerStores(
  config: SigilConfig,
  options: OpenStoresOptions = {},
): Promise<IssuerStores> {
  const { clock, watch = true, onBundleError } = options;
  // Trust for other issuers: the configured bundle (other issuers' JWKS), if any.
  const source = config.validator.trust_bundle;
  const bundle =
    source === undefined
      ? undefined
      : await loadTrustBundle(source, {
          ...(watch ? { refreshIntervalMs: config.validator.refresh_interval * 1000 } : {}),
          onError: onBundleError,
        });
  const keys = openKeyStores({
    dataDir: config.data_dir,
    rotationInterval: config.issuer.key_rotation_interval,
    maxTtl: config.issuer.max_ttl,
    clockSkew: config.validator.clock_skew,
    clock,
  });
  const revocations = RevocationStore.open({ path: revocationPath(config), clock, watch });
  const trust = localTrustStore(config, { keys, revocations, bundle });
  return {
    keys,
    revocations,
    trust,
    close() {
      trust.close();
      revocations.close();
    },
  };
}
