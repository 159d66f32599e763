/**
 * Where policy bundles come from: a file (fs.watch + mtime/size/inode polling) or an HTTP bundle server (ETag
 * polling with If-None-Match, as OPA's bundle plugin does: OPA docs "Management APIs → Bundles"), and the timer
 * and watcher that ask for a check. Fetching only — validation and the swap are the engine's (../policy-engine.ts).
 */
import { watch } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { PolicyError } from '../errors.js';
import { describeThrown } from '../load-bundle.js';

/** HTTP timeout per poll, ms. */
const HTTP_TIMEOUT_MS = 10_000;

/** A bundle location that remembers what it last returned. */
export interface BundleSource {
  readonly location: string;
  readonly isHttp: boolean;
  /**
   * The bundle's bytes when they changed since the last fetch, undefined when unchanged. `conditional`: the
   * caller holds a bundle, so an HTTP source may ask with If-None-Match. Throws PolicyError
   * (POLICY_BUNDLE_UNAVAILABLE, or POLICY_BUNDLE_INVALID over the size cap).
   */
  fetch(conditional: boolean): Promise<Uint8Array | undefined>;
}

/**
 * The source for `location` (a file path, or an http(s) URL of a bundle server resource): HTTP for an
 * http(s) URL, else a file. Bundles over `maxBundleBytes` are refused.
 */
export function bundleSource(location: string, maxBundleBytes = 32 * 1024 * 1024): BundleSource {
  return /^https?:\/\//i.test(location)
    ? httpSource(location, maxBundleBytes)
    : fileSource(location, maxBundleBytes);
}

function unavailable(what: string, e: unknown): PolicyError {
  return new PolicyError('POLICY_BUNDLE_UNAVAILABLE', `${what}: ${describeThrown(e)}`, e);
}

const overCap = (msg: string) => new PolicyError('POLICY_BUNDLE_INVALID', msg);

function fileSource(path: string, max: number): BundleSource {
  let lastStamp = '';
  return {
    location: path,
    isHttp: false,
    async fetch() {
      try {
        const st = await stat(path, { bigint: true });
        // Nanosecond mtime + size + inode: an unchanged stamp means the same file (and the same verdict on it).
        const stamp = `${st.mtimeNs}:${st.size}:${st.ino}`;
        if (stamp === lastStamp) return undefined;
        lastStamp = stamp;
        if (st.size > BigInt(max)) throw overCap(`bundle file is ${st.size} bytes, over the ${max}-byte cap`);
        return await readFile(path);
      } catch (e) {
        throw e instanceof PolicyError ? e : unavailable(`bundle file ${path}`, e);
      }
    },
  };
}

function httpSource(url: string, max: number): BundleSource {
  let etag: string | undefined;
  return {
    location: url,
    isHttp: true,
    async fetch(conditional) {
      const headers: Record<string, string> = { accept: 'application/gzip, application/octet-stream' };
      if (etag && conditional) headers['if-none-match'] = etag;
      let res: Response;
      try {
        res = await fetch(url, { headers, signal: AbortSignal.timeout(HTTP_TIMEOUT_MS), redirect: 'follow' });
      } catch (e) {
        throw unavailable(`bundle server ${url}`, e);
      }
      if (res.status === 304) return undefined;
      if (res.status !== 200) {
        await res.body?.cancel();
        throw new PolicyError(
          'POLICY_BUNDLE_UNAVAILABLE',
          `bundle server ${url} answered HTTP ${res.status}`,
        );
      }
      const declared = Number(res.headers.get('content-length') ?? '0');
      if (declared > max) {
        await res.body?.cancel();
        throw overCap(`bundle of ${declared} bytes exceeds the ${max}-byte cap`);
      }
      const chunks: Uint8Array[] = [];
      let size = 0;
      if (res.body) {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          size += chunk.length;
          if (size > max) throw overCap(`bundle body exceeds the ${max}-byte cap`);
          chunks.push(chunk);
        }
      }
      etag = res.headers.get('etag') ?? undefined;
      return Buffer.concat(chunks);
    },
  };
}

/**
 * Calls `check` every `intervalMs` and, for a file source with `watchFiles`, on fs.watch events for the file.
 * Returns the function that stops both. Polling always runs: watch events are a latency gain, not a guarantee.
 */
export function watchSource(
  source: BundleSource,
  check: () => void,
  o: { intervalMs: number; watchFiles: boolean },
): () => void {
  const timer = setInterval(check, o.intervalMs);
  timer.unref();
  let watcher: ReturnType<typeof watch> | undefined;
  if (!source.isHttp && o.watchFiles) {
    // Watch the directory, not the file: an atomic rename replaces the inode and would orphan a file watch.
    try {
      const name = basename(source.location);
      watcher = watch(dirname(source.location), { persistent: false }, (_event, file) => {
        if (file === null || file === name) check();
      });
      watcher.on('error', () => {
        watcher?.close();
        watcher = undefined; // polling still covers changes
      });
    } catch {
      // Directory missing or watch unsupported: polling covers it.
    }
  }
  return () => {
    clearInterval(timer);
    watcher?.close();
  };
}
