/**
 * A document that may change (trust bundle, policy bundle), read from a file path or an https URL under a size
 * cap, and the timer that asks for a re-check. A file is re-read when its nanosecond mtime, size or inode changed;
 * a URL is asked with If-None-Match and the last ETag, a 304 meaning unchanged (RFC 9110 §8.8.3, §13.1.2).
 * URLs go through node:https so a source can pin its CA (`ca`: only that CA is trusted for its TLS); `http://`
 * is refused unless allowed for a loopback host (src/lib/source-url.ts). Redirects are not followed: a 3xx could
 * lead off https or off the pinned host. Callers make the errors, so each module keeps its own stable codes.
 */
import { watch } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { basename, dirname } from 'node:path';
import { type SourceTransport, sourceKind, sourceProblem } from './source-url.js';

/**
 * Why a read failed: `too_big` the document is over the cap (the document's fault); `refused` the transport is not
 * acceptable (an `http://` URL not allowed, or a TLS server certificate that does not chain to the trusted CA);
 * `unavailable` anything else (missing file, network error, HTTP status).
 */
export type PollFailure = 'too_big' | 'refused' | 'unavailable';

/** Options of {@link pollSource}. */
export interface PollSourceOptions extends SourceTransport {
  /** Largest document accepted, bytes. */
  maxBytes: number;
  /** Timeout of one HTTP request, ms. */
  timeoutMs: number;
  /** HTTP Accept header. */
  accept: string;
  /** The caller's error for a failure of `kind`. */
  error(kind: PollFailure, message: string, cause?: unknown): Error;
}

/** A document location that remembers the validator (file stamp or ETag) of its last read. */
export interface PollSource {
  readonly location: string;
  readonly isHttp: boolean;
  /**
   * The document's bytes when they changed since the last read, undefined when unchanged. `conditional` false:
   * ask a URL without If-None-Match (the caller holds no copy). Throws only errors made by `error`.
   */
  fetch(conditional?: boolean): Promise<Buffer | undefined>;
  /** Forgets the validator, so the next fetch reads the document again (the caller rejected this one). */
  forget(): void;
}

/** Thrown inside {@link pollSource}; turned into the caller's error at the boundary. */
class Failure extends Error {
  constructor(
    readonly kind: PollFailure,
    message: string,
  ) {
    super(message);
  }
}

/** Reads a response body, giving up as soon as it exceeds `max` bytes (never buffers an unbounded body). */
async function readCapped(res: IncomingMessage, max: number, tooBig: () => Failure): Promise<Buffer> {
  if (Number(res.headers['content-length'] ?? '0') > max) throw tooBig();
  const chunks: Buffer[] = [];
  let size = 0;
  // Throwing out of the loop destroys the stream, so an endless body is never buffered.
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > max) throw tooBig();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * Error codes node:tls / OpenSSL give a handshake whose certificate check failed (X509_V_ERR_* names, Node's
 * ERR_TLS_* and ERR_SSL_*): the server is not who the pinned (or system) CAs vouch for.
 */
const TLS_REFUSAL =
  /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|SELF_SIGNED_|DEPTH_ZERO_|HOSTNAME_MISMATCH|INVALID_CA|PATH_LENGTH)/;

/** One GET; resolves with the response (body unread) or rejects with the transport error. */
function get(url: string, headers: Record<string, string>, o: PollSourceOptions): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const common = { headers, signal: AbortSignal.timeout(o.timeoutMs), agent: false } as const;
    // `ca` replaces the system roots for this request only (node:tls createSecureContext); agent false: no pooled
    // socket is ever shared between sources with different trust.
    const req =
      sourceKind(url) === 'https'
        ? httpsRequest(url, { ...common, ...(o.ca !== undefined ? { ca: o.ca } : {}) })
        : httpRequest(url, common);
    req.once('response', resolve);
    req.once('error', (e: NodeJS.ErrnoException) => {
      if (typeof e.code === 'string' && TLS_REFUSAL.test(e.code))
        reject(new Failure('refused', `${url}: TLS server certificate not trusted (${e.code})`));
      else reject(e);
    });
    req.end();
  });
}

/**
 * The source at `location`: an https (or allowed loopback http) URL, else a file path. Throws the caller's
 * `refused` error at once when the location is not acceptable (src/lib/source-url.ts).
 */
export function pollSource(location: string, o: PollSourceOptions): PollSource {
  const problem = sourceProblem(location, o);
  if (problem !== undefined) throw o.error('refused', `${location}: ${problem}`);
  const isHttp = sourceKind(location) !== 'file';
  let tag: string | undefined;
  const tooBig = () => new Failure('too_big', `${location} exceeds the ${o.maxBytes}-byte cap`);

  const fromFile = async (): Promise<Buffer | undefined> => {
    const st = await stat(location, { bigint: true });
    const stamp = `${st.mtimeNs}:${st.size}:${st.ino}`;
    if (stamp === tag) return undefined;
    tag = stamp;
    if (st.size > BigInt(o.maxBytes)) throw tooBig();
    const bytes = await readFile(location);
    if (bytes.length > o.maxBytes) throw tooBig(); // grew between stat and read
    return bytes;
  };

  const fromUrl = async (conditional: boolean): Promise<Buffer | undefined> => {
    const headers: Record<string, string> = { accept: o.accept };
    if (tag !== undefined && conditional) headers['if-none-match'] = tag;
    const res = await get(location, headers, o);
    try {
      // A 304 means "unchanged" only as the answer to our If-None-Match.
      if (res.statusCode === 304 && headers['if-none-match'] !== undefined) return undefined;
      if (res.statusCode !== 200)
        throw new Failure('unavailable', `${location} answered HTTP ${res.statusCode}`);
      const bytes = await readCapped(res, o.maxBytes, tooBig);
      const etag = res.headers.etag;
      tag = typeof etag === 'string' ? etag : undefined;
      return bytes;
    } finally {
      res.destroy(); // a body we did not read (304, error status, over the cap) must not hold the socket
    }
  };

  return {
    location,
    isHttp,
    async fetch(conditional = true) {
      try {
        return await (isHttp ? fromUrl(conditional) : fromFile());
      } catch (e) {
        if (e instanceof Failure) throw o.error(e.kind, e.message);
        throw o.error(
          'unavailable',
          `cannot read ${location}: ${e instanceof Error ? e.message : String(e)}`,
          e,
        );
      }
    },
    forget() {
      tag = undefined;
    },
  };
}

/**
 * Calls `check` every `intervalMs` (unref'd timer) and, when `watchFile` is set, on fs.watch events for that file.
 * Returns the function that stops both. Polling always runs: watch events are a latency gain, not a guarantee.
 */
export function pollEvery(check: () => void, intervalMs: number, watchFile?: string): () => void {
  const timer = setInterval(check, intervalMs);
  timer.unref();
  let watcher: ReturnType<typeof watch> | undefined;
  if (watchFile !== undefined) {
    // Watch the directory, not the file: an atomic rename replaces the inode and would orphan a file watch.
    try {
      const name = basename(watchFile);
      watcher = watch(dirname(watchFile), { persistent: false }, (_event, file) => {
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
