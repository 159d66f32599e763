/**
 * loadTrustBundle: a TrustStore fed from a JWKS file or https URL, refreshed by file mtime or HTTP ETag
 * (RFC 9110 §8.8.3, §13.1.2). The bundle is a JWKS (RFC 7517 §5) that may also carry a SIGIL `revocations`
 * member; an extra member is ignored by other JWKS consumers, so plain jose clients can use the same file.
 * Like a SPIFFE bundle, it is held together with what it is authoritative for (SPIFFE Trust Domain and Bundle
 * §3, §5: `<trust_domain_name, endpoint>` configured explicitly): its keys vouch only for `issuers` and
 * `trustDomains`.
 */
import { sha256 } from '../lib/bytes.js';
import { canonicalJson, type OnLifecycle, type TrustUpdateEntry } from '../lib/lifecycle-event.js';
import { type PollFailure, pollEvery, pollSource } from '../lib/poll-source.js';
import type { SourceTransport } from '../lib/source-url.js';
import { TbitError } from './errors.js';
import type { JsonWebKeySet, RevocationList } from './lib/jwks.js';
import { createTrustStore, type MutableTrustStore } from './trust-store.js';

/** Options of {@link loadTrustBundle}. `ca` and `allowLoopbackHttp` apply to the bundle and the revocation list. */
export interface TrustBundleOptions extends SourceTransport {
  /** Root `iss` values the bundle's keys may sign (at least one). */
  issuers: readonly string[];
  /** Trust domain names a root `sub` signed by the bundle's keys may be in (at least one). */
  trustDomains: readonly string[];
  /** A separate revocation list (file or URL) when the bundle does not carry one. */
  revocations?: string;
  /** When set, refresh in the background every this many ms (timer is unref'd; stop with close()). */
  refreshIntervalMs?: number;
  /** Called when a background refresh fails; the store keeps its last good state. */
  onError?: (e: TbitError) => void;
  /** Largest document accepted, bytes. Default 4 MiB. */
  maxBytes?: number;
  /** Told of what is in force after the first load and after each change (docs/ledger.md §4 `trust.update`). */
  onLifecycle?: OnLifecycle;
}

/** The `trust.update` event of a bundle's keys and revocations now in force: kids and hashes only. */
function trustUpdate(source: string, jwks: JsonWebKeySet, rev: RevocationList | undefined): TrustUpdateEntry {
  const list = rev ?? jwks.revocations;
  const kids = jwks.keys.map((k) => (typeof k.kid === 'string' ? k.kid : '')).filter((k) => k !== '');
  return {
    kind: 'trust.update',
    source,
    hash: sha256(canonicalJson({ jwks, revocations: rev }), 'hex'),
    kids: kids.sort(),
    ...(list !== undefined ? { revoked: list.tasks.length + list.jtis.length } : {}),
  };
}

/** A refreshable trust store backed by a file or URL. */
export interface TrustBundle extends MutableTrustStore {
  /** Re-reads sources whose mtime/ETag changed. Resolves true when the store changed. */
  refresh(): Promise<boolean>;
  /** Stops the background refresh. */
  close(): void;
  /** The JWKS as last loaded (for re-publishing). */
  readonly jwks: JsonWebKeySet;
}

/** One watched JSON document; a document it rejects is read again next time, so the error repeats. */
function watcher(
  location: string,
  maxBytes: number,
  transport: SourceTransport,
): () => Promise<{ changed: boolean; value: unknown }> {
  const invalid = (message: string, cause?: unknown) =>
    new TbitError('TBIT_TRUST_BUNDLE_INVALID', message, undefined, cause);
  const source = pollSource(location, {
    maxBytes,
    timeoutMs: 5000,
    accept: 'application/json',
    ...(transport.ca !== undefined ? { ca: transport.ca } : {}),
    ...(transport.allowLoopbackHttp !== undefined ? { allowLoopbackHttp: transport.allowLoopbackHttp } : {}),
    error: (kind: PollFailure, m, c) =>
      kind === 'refused' ? new TbitError('TBIT_TRUST_SOURCE_REFUSED', m, undefined, c) : invalid(m, c),
  });
  let value: unknown;
  return async () => {
    try {
      const bytes = await source.fetch();
      if (bytes === undefined) return { changed: false, value };
      value = JSON.parse(bytes.toString('utf8'));
      return { changed: true, value };
    } catch (e) {
      source.forget();
      throw e instanceof TbitError ? e : invalid(`${location} is not JSON`, e);
    }
  };
}

/**
 * Loads a trust bundle from a JWKS file path or https URL and returns a TrustStore, bound to `issuers` and
 * `trustDomains`, that `refresh()` re-reads when the file's mtime/size or the URL's ETag changed. A failed
 * refresh throws (TBIT_TRUST_BUNDLE_INVALID, or TBIT_TRUST_SOURCE_REFUSED when the TLS server is not trusted)
 * and keeps the previous keys and revocations (never an empty store); a failed first load rejects.
 */
export async function loadTrustBundle(source: string, options: TrustBundleOptions): Promise<TrustBundle> {
  const maxBytes = options.maxBytes ?? 4 * 1024 * 1024;
  const jwksDoc = watcher(source, maxBytes, options);
  const revDoc =
    options.revocations === undefined ? undefined : watcher(options.revocations, maxBytes, options);
  let jwks = (await jwksDoc()).value as JsonWebKeySet;
  let rev = revDoc === undefined ? undefined : ((await revDoc()).value as RevocationList);
  const store = createTrustStore({
    issuers: options.issuers,
    trustDomains: options.trustDomains,
    jwks: () => jwks,
    ...(revDoc === undefined ? {} : { revocations: () => rev as RevocationList }),
  });
  let stop: (() => void) | undefined;
  options.onLifecycle?.(trustUpdate(source, jwks, rev));

  const refresh = async (): Promise<boolean> => {
    const a = await jwksDoc();
    const b = revDoc === undefined ? undefined : await revDoc();
    if (!a.changed && !b?.changed) return false;
    const prevJwks = jwks;
    const prevRev = rev;
    jwks = a.value as JsonWebKeySet;
    if (b !== undefined) rev = b.value as RevocationList;
    try {
      store.update();
    } catch (e) {
      jwks = prevJwks;
      rev = prevRev;
      throw e;
    }
    options.onLifecycle?.(trustUpdate(source, jwks, rev));
    return true;
  };

  if (options.refreshIntervalMs !== undefined) {
    stop = pollEvery(() => {
      refresh().catch((e: unknown) => {
        const err =
          e instanceof TbitError
            ? e
            : new TbitError('TBIT_TRUST_BUNDLE_INVALID', 'refresh failed', undefined, e);
        options.onError?.(err);
      });
    }, options.refreshIntervalMs);
  }

  // defineProperties, not Object.assign: assign would copy the getter's value once instead of the getter.
  return Object.defineProperties(store, {
    refresh: { value: refresh },
    close: { value: () => stop?.() },
    jwks: { get: () => jwks, enumerable: true },
  }) as TrustBundle;
}
