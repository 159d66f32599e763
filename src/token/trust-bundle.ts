/**
 * loadTrustBundle: a TrustStore fed from a JWKS file or http(s) URL, refreshed by file mtime or HTTP ETag
 * (RFC 9110 §8.8.3, §13.1.2). The bundle is a JWKS (RFC 7517 §5) that may also carry a SIGIL `revocations`
 * member; an extra member is ignored by other JWKS consumers, so plain jose clients can use the same file.
 */
import { readFile, stat } from 'node:fs/promises';
import { TbitError } from './errors.js';
import type { JsonWebKeySet, RevocationList } from './lib/jwks.js';
import { createTrustStore, type MutableTrustStore } from './trust-store.js';

/** Options of {@link loadTrustBundle}. */
export interface TrustBundleOptions {
  /** A separate revocation list (file or URL) when the bundle does not carry one. */
  revocations?: string;
  /** When set, refresh in the background every this many ms (timer is unref'd; stop with close()). */
  refreshIntervalMs?: number;
  /** Called when a background refresh fails; the store keeps its last good state. */
  onError?: (e: TbitError) => void;
  /** Largest document accepted, bytes. Default 4 MiB. */
  maxBytes?: number;
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

/** HTTP timeout of one fetch, ms. */
const TIMEOUT_MS = 5000;

interface Fetched {
  changed: boolean;
  value: unknown;
}

/** Reads a response body, giving up as soon as it exceeds `max` bytes (never buffers an unbounded body). */
async function readCapped(res: Response, max: number, source: string): Promise<string> {
  const tooBig = () => new TbitError('TBIT_TRUST_BUNDLE_INVALID', `${source} exceeds ${max} bytes`);
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > max) throw tooBig();
  if (res.body === null) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw tooBig();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** One watched document: remembers the validator (mtime+size or ETag) of its last good read. */
function watcher(source: string, maxBytes: number): () => Promise<Fetched> {
  let tag: string | undefined;
  let value: unknown;
  const isUrl = /^https?:\/\//i.test(source);
  const parse = (text: string): unknown => {
    if (text.length > maxBytes)
      throw new TbitError('TBIT_TRUST_BUNDLE_INVALID', `${source} exceeds ${maxBytes} bytes`);
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new TbitError('TBIT_TRUST_BUNDLE_INVALID', `${source} is not JSON`, undefined, e);
    }
  };
  return async () => {
    try {
      if (isUrl) {
        const headers: Record<string, string> = { accept: 'application/json' };
        if (tag !== undefined) headers['if-none-match'] = tag;
        const res = await fetch(source, { headers, signal: AbortSignal.timeout(TIMEOUT_MS) });
        if (res.status === 304 && value !== undefined) return { changed: false, value };
        if (!res.ok)
          throw new TbitError('TBIT_TRUST_BUNDLE_INVALID', `${source} answered HTTP ${res.status}`);
        const next = parse(await readCapped(res, maxBytes, source));
        tag = res.headers.get('etag') ?? undefined;
        value = next;
        return { changed: true, value };
      }
      const st = await stat(source);
      const t = `${st.mtimeMs}:${st.size}`;
      if (t === tag && value !== undefined) return { changed: false, value };
      if (st.size > maxBytes)
        throw new TbitError('TBIT_TRUST_BUNDLE_INVALID', `${source} exceeds ${maxBytes} bytes`);
      const next = parse(await readFile(source, 'utf8'));
      tag = t;
      value = next;
      return { changed: true, value };
    } catch (e) {
      if (e instanceof TbitError) throw e;
      throw new TbitError('TBIT_TRUST_BUNDLE_INVALID', `cannot read ${source}`, undefined, e);
    }
  };
}

/**
 * Loads a trust bundle from a JWKS file path or http(s) URL and returns a TrustStore that `refresh()`
 * re-reads when the file's mtime/size or the URL's ETag changed. A failed refresh throws
 * TBIT_TRUST_BUNDLE_INVALID and keeps the previous keys and revocations (never an empty store).
 */
export async function loadTrustBundle(
  source: string,
  options: TrustBundleOptions = {},
): Promise<TrustBundle> {
  const maxBytes = options.maxBytes ?? 4 * 1024 * 1024;
  const jwksDoc = watcher(source, maxBytes);
  const revDoc = options.revocations === undefined ? undefined : watcher(options.revocations, maxBytes);
  let jwks = (await jwksDoc()).value as JsonWebKeySet;
  let rev = revDoc === undefined ? undefined : ((await revDoc()).value as RevocationList);
  const store = createTrustStore({
    jwks: () => jwks,
    ...(revDoc === undefined ? {} : { revocations: () => rev as RevocationList }),
  });
  let timer: NodeJS.Timeout | undefined;

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
    return true;
  };

  if (options.refreshIntervalMs !== undefined) {
    timer = setInterval(() => {
      refresh().catch((e: unknown) => {
        const err =
          e instanceof TbitError
            ? e
            : new TbitError('TBIT_TRUST_BUNDLE_INVALID', 'refresh failed', undefined, e);
        options.onError?.(err);
      });
    }, options.refreshIntervalMs);
    timer.unref();
  }

  // defineProperties, not Object.assign: assign would copy the getter's value once instead of the getter.
  return Object.defineProperties(store, {
    refresh: { value: refresh },
    close: {
      value: () => {
        if (timer !== undefined) clearInterval(timer);
      },
    },
    jwks: { get: () => jwks, enumerable: true },
  }) as TrustBundle;
}
