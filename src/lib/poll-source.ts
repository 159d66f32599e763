/**
 * A document that may change (trust bundle, policy bundle), read from a file path or an http(s) URL under a size
 * cap, and the timer that asks for a re-check. A file is re-read when its nanosecond mtime, size or inode changed;
 * a URL is asked with If-None-Match and the last ETag, a 304 meaning unchanged (RFC 9110 §8.8.3, §13.1.2).
 * Callers make the errors, so each module keeps its own stable codes.
 */
import { watch } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';

/** Options of {@link pollSource}. */
export interface PollSourceOptions {
  /** Largest document accepted, bytes. */
  maxBytes: number;
  /** Timeout of one HTTP request, ms. */
  timeoutMs: number;
  /** HTTP Accept header. */
  accept: string;
  /** The caller's error: `tooBig` for a document over the cap, else the source could not be read. */
  error(tooBig: boolean, message: string, cause?: unknown): Error;
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
    readonly tooBig: boolean,
    message: string,
  ) {
    super(message);
  }
}

/** Reads a response body, giving up as soon as it exceeds `max` bytes (never buffers an unbounded body). */
async function readCapped(res: Response, max: number, tooBig: () => Failure): Promise<Buffer> {
  if (Number(res.headers.get('content-length') ?? '0') > max) {
    await res.body?.cancel();
    throw tooBig();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  // Throwing out of the loop cancels the stream, so an endless body is never buffered.
  for await (const chunk of (res.body ?? []) as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > max) throw tooBig();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The source at `location`: an http(s) URL, else a file path. */
export function pollSource(location: string, o: PollSourceOptions): PollSource {
  const isHttp = /^https?:\/\//i.test(location);
  let tag: string | undefined;
  const tooBig = () => new Failure(true, `${location} exceeds the ${o.maxBytes}-byte cap`);

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
    const res = await fetch(location, { headers, signal: AbortSignal.timeout(o.timeoutMs) });
    // A 304 means "unchanged" only as the answer to our If-None-Match.
    if (res.status === 304 && headers['if-none-match'] !== undefined) return undefined;
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new Failure(false, `${location} answered HTTP ${res.status}`);
    }
    const bytes = await readCapped(res, o.maxBytes, tooBig);
    tag = res.headers.get('etag') ?? undefined;
    return bytes;
  };

  return {
    location,
    isHttp,
    async fetch(conditional = true) {
      try {
        return await (isHttp ? fromUrl(conditional) : fromFile());
      } catch (e) {
        if (e instanceof Failure) throw o.error(e.tooBig, e.message);
        throw o.error(false, `cannot read ${location}: ${e instanceof Error ? e.message : String(e)}`, e);
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
