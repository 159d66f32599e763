/** Opens the data dir's issuer stores (keys, revocations) and the verifier trust built on them. */

import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { changeListeners } from '../lib/change-listeners.js';
import type { Clock } from '../lib/clock.js';
import type { LifecycleVia, OnLifecycle } from '../lib/lifecycle-event.js';
import { pollEvery } from '../lib/poll-source.js';
import type { ReplicableTrustStore, TrustedIssuerKey, TrustSnapshot } from '../token/api.js';
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
    agents: new AgentKeyStore(join(dir, 'agents'), opts.clock, {
      ...(opts.onLifecycle ? { onLifecycle: opts.onLifecycle } : {}),
      ...(opts.via ? { via: opts.via } : {}),
    }),
  };
}

/** The issuer's settings, validated (mapped from `sigil.*` in src/serve/issuer-options.ts); seconds unless `…Ms`. */
export interface IssuerOptions extends Omit<KeyStoresOptions, 'clock' | 'onLifecycle' | 'via'> {
  /** `iss` of minted tokens; `agentId` is this sidecar's SPIFFE ID; default `aud` is `spiffe://<trustDomain>`. */
  issuerId: string;
  agentId: string;
  trustDomain: string;
  maxChainDepth: number;
  /** Bearer credential for network Mint/Revoke; undefined = both disabled over the network. */
  operatorCredential?: string;
  revocationsPath: string;
  /** Trust bundles (other issuers' JWKS: path or URL), each bound to what it may vouch for; refreshed every `bundleRefreshMs` when watching. */
  trustSources: TrustSource[];
  bundleRefreshMs: number;
  /** `host:port`, `[v6]:port` or `unix:/path`. */
  listenHttp: string;
  listenGrpc: string;
}

/** One trust bundle and its binding (docs/keys.md §Trust for other issuers). */
export interface TrustSource {
  /** JWKS file path or https URL. */
  source: string;
  /** Root `iss` values its keys may sign. */
  issuers: string[];
  /** Trust domain names a root `sub` signed by its keys may be in. */
  trustDomains: string[];
  /** A separate revocation list (file path or https URL), read with the same transport settings. */
  revocations?: string;
  /** PEM CA certificate(s) pinned for this source's TLS (the contents, not a path). */
  ca?: string;
  /** Accept `http://` on a loopback host. */
  allowLoopbackHttp?: boolean;
}

/** How {@link openIssuerStores} runs (per caller, not per deployment). */
export interface OpenStoresOptions {
  clock?: Clock;
  /** Told of every key and trust change (docs/ledger.md §4 "Lifecycle entries"). */
  onLifecycle?: OnLifecycle;
  /** Who runs the stores, for those events: `serve` (default) or `cli`. */
  via?: LifecycleVia;
  /** Watch the revocation file for other processes' changes (server: true, one-shot CLI: false). */
  watch?: boolean;
  /** Called when a background bundle refresh fails (the last good bundle stays in force). */
  onBundleError?: (e: Error) => void;
}

/** The opened stores. `close()` stops watchers. */
export interface IssuerStores {
  keys: KeyStores;
  revocations: RevocationStore;
  /**
   * The TrustStore `verifyChain` uses on this sidecar (docs/keys.md §Trust); Check workers mirror it through
   * `snapshot()` and `subscribe()` (docs/workers.md §2).
   */
  trust: ReplicableTrustStore;
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
  const { clock, watch = true, onBundleError, onLifecycle, via } = options;
  // Trust for other issuers: the configured bundles, each loaded with its own binding and transport.
  const bundles: TrustBundle[] = [];
  try {
    for (const t of opts.trustSources) {
      bundles.push(
        await loadTrustBundle(t.source, {
          issuers: t.issuers,
          trustDomains: t.trustDomains,
          ...(t.revocations !== undefined ? { revocations: t.revocations } : {}),
          ...(t.ca !== undefined ? { ca: t.ca } : {}),
          ...(t.allowLoopbackHttp !== undefined ? { allowLoopbackHttp: t.allowLoopbackHttp } : {}),
          ...(watch ? { refreshIntervalMs: opts.bundleRefreshMs } : {}),
          ...(onBundleError ? { onError: onBundleError } : {}),
          // Only a watching (serving) process reports trust: a one-shot CLI load changes nothing in force.
          ...(onLifecycle && watch ? { onLifecycle } : {}),
        }),
      );
    }
  } catch (e) {
    for (const b of bundles) b.close();
    throw e;
  }
  const { dataDir, rotationInterval, maxTtl, clockSkew } = opts;
  const keys = openKeyStores({
    dataDir,
    rotationInterval,
    maxTtl,
    clockSkew,
    clock,
    ...(onLifecycle ? { onLifecycle } : {}),
    ...(via ? { via } : {}),
  });
  const revocations = RevocationStore.open({ path: opts.revocationsPath, clock, watch });
  const trust = localTrust(
    { issuers: new Set([opts.issuerId]), trustDomains: new Set([opts.trustDomain]) },
    keys,
    revocations,
    bundles,
    watch,
  );
  return {
    keys,
    revocations,
    trust: trust.store,
    close() {
      for (const b of bundles) b.close();
      revocations.close();
      trust.close();
    },
  };
}

/** How often a subscribed trust re-lists the issuer key directory (the in-process verifier reuses a listing as long). */
const KEY_RELIST_MS = 1000;

/**
 * This sidecar's verifier trust. A root hop from this issuer is checked against the key store's currently
 * published keys (so rotations by the CLI show up), bound to this issuer's id and trust domain; any other root
 * only against a configured bundle holding its kid, preferring one bound to its `iss`. There is no fallback to
 * "any bundle for any iss": the verifier denies a root whose iss or sub trust domain is outside the binding of
 * the key that verified it (TBIT_ISSUER_NOT_BOUND / TBIT_TRUST_DOMAIN_NOT_BOUND). Revocation covers every hop of
 * every chain, from every source (revoking can only deny). `version` is the sum of monotone counters (key set,
 * revocations, bundles), so caches keyed on it drop on any change.
 */
function localTrust(
  own: Pick<TrustedIssuerKey, 'issuers' | 'trustDomains'>,
  keys: KeyStores,
  revocations: RevocationStore,
  bundles: readonly TrustBundle[],
  watch: boolean,
): { store: ReplicableTrustStore; close(): void } {
  // One binding object per own key, so the hot path allocates nothing.
  const bound = new WeakMap<KeyObject, TrustedIssuerKey>();
  const ownKey = (kid: string): TrustedIssuerKey | undefined => {
    const key = keys.issuer.publicKey(kid);
    if (key === undefined) return undefined;
    let k = bound.get(key);
    if (k === undefined) {
      k = Object.freeze({ key, ...own });
      bound.set(key, k);
    }
    return k;
  };
  const listeners = changeListeners();
  let stopRelist: (() => void) | undefined;
  let watching = false;
  // Subscribed to the parts only once someone subscribes: a single-process sidecar pays nothing for mirroring.
  const watchParts = (): void => {
    if (watching) return;
    watching = true;
    keys.issuer.subscribe(listeners.emit);
    revocations.subscribe(listeners.emit);
    for (const b of bundles) b.subscribe(listeners.emit);
    // Another process's key rotation shows up on a listing; nothing else lists while only workers verify.
    if (watch) {
      stopRelist = pollEvery(() => {
        try {
          keys.issuer.relist();
        } catch {
          // A corrupt key file fails the next signer()/verification with its own code; nothing may escape a timer.
        }
      }, KEY_RELIST_MS);
    }
  };
  const store: ReplicableTrustStore = {
    issuerKey(iss, kid) {
      const mine = own.issuers.has(iss) ? ownKey(kid) : undefined;
      if (mine !== undefined) return mine;
      let other: TrustedIssuerKey | undefined;
      for (const b of bundles) {
        const k = b.issuerKey(iss, kid);
        if (k === undefined) continue;
        if (k.issuers.has(iss)) return k;
        other ??= k;
      }
      // A kid known only out of scope: returned so the verifier reports why (after the signature check).
      return other ?? ownKey(kid);
    },
    isRevoked(claims) {
      if (revocations.isRevoked(claims)) return true;
      for (const b of bundles) if (b.isRevoked(claims)) return true;
      return false;
    },
    get version() {
      let v = keys.issuer.generation + revocations.version;
      for (const b of bundles) v += b.version;
      return v;
    },
    snapshot(): TrustSnapshot {
      // keys() lists the directory first, so the version read last covers what was read.
      const published = keys.issuer.keys();
      const parts = bundles.map((b) => b.snapshot());
      const list = revocations.current();
      const jtis = new Set(list.jtis.map((e) => e.id));
      const tasks = new Set(list.tasks.map((e) => e.id));
      for (const p of parts) {
        for (const id of p.revoked.jtis) jtis.add(id);
        for (const id of p.revoked.tasks) tasks.add(id);
      }
      return {
        format: 'sigil.trust/1',
        version: store.version,
        own: {
          issuers: [...own.issuers],
          trustDomains: [...own.trustDomains],
          keys: published.map((k) => ({
            kid: k.kid,
            x: k.publicJwk.x,
            ...(k.publishUntil === undefined ? {} : { notAfterMs: k.publishUntil }),
          })),
        },
        sources: parts.flatMap((p) => p.sources),
        // A corrupt revocation list denies everything here (RevocationStore.isRevoked): so must every mirror.
        revoked: { jtis: [...jtis], tasks: [...tasks], all: revocations.error !== undefined },
      };
    },
    subscribe(onChange) {
      watchParts();
      return listeners.add(onChange);
    },
  };
  return { store, close: () => stopRelist?.() };
}
