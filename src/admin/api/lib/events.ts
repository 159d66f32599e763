/**
 * Server-sent events for live decisions (WHATWG HTML §9.2 "Server-sent events"). Each new ledger entry becomes
 * `id: <index>` / `event: decision` / `data: {"index":…,"record":{…}}`. Slow readers are cut off rather than
 * buffered without bound: a dashboard that falls behind reconnects and refetches.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AdminApiError } from '../errors.js';
import type { DecisionEntry } from './ledger.js';

/** Bytes a client may have pending before it is dropped. */
const MAX_PENDING = 1024 * 1024;

/** Live event streams, bounded in number. */
export class EventStreams {
  readonly #clients = new Set<ServerResponse>();
  readonly #max: number;
  readonly #heartbeatMs: number;
  #timer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(max: number, heartbeatMs: number) {
    this.#max = max;
    this.#heartbeatMs = heartbeatMs;
  }

  /** Number of open streams. */
  get size(): number {
    return this.#clients.size;
  }

  /**
   * Turns `res` into an event stream until the client goes away. The first stream starts the feed with
   * `subscribe` (which returns its unsubscribe); the last one to close stops it.
   * @throws AdminApiError ADMIN_TOO_MANY_STREAMS when `max` streams are open.
   */
  open(req: IncomingMessage, res: ServerResponse, subscribe: () => () => void): void {
    if (this.#clients.size >= this.#max) {
      throw new AdminApiError('ADMIN_TOO_MANY_STREAMS', 'too many live event streams');
    }
    this.#unsubscribe ??= subscribe();
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
    res.write('retry: 3000\n: sigil decisions\n\n');
    this.#clients.add(res);
    const drop = (): void => {
      if (this.#clients.delete(res) && this.#clients.size === 0) this.#idle();
    };
    req.on('close', drop);
    res.on('close', drop);
    res.on('error', drop);
    if (!this.#timer) {
      this.#timer = setInterval(() => this.#broadcast(': ping\n\n'), this.#heartbeatMs);
      this.#timer.unref();
    }
  }

  /** Sends one decision to every stream. */
  publish(entry: DecisionEntry): void {
    // JSON.stringify never emits raw newlines, so one `data:` line is always well-formed.
    this.#broadcast(`id: ${entry.index}\nevent: decision\ndata: ${JSON.stringify(entry)}\n\n`);
  }

  /** Tells every stream that `count` decisions were not sent live (rate cap); the log now has `size` entries. */
  publishSkipped(count: number, size: number): void {
    this.#broadcast(`event: skipped\ndata: ${JSON.stringify({ count, size })}\n\n`);
  }

  /** Closes every stream (server shutdown). */
  close(): void {
    for (const res of this.#clients) res.end();
    this.#clients.clear();
    this.#idle();
  }

  #broadcast(text: string): void {
    if (this.#clients.size === 0) return;
    for (const res of this.#clients) {
      if (res.writableLength <= MAX_PENDING) res.write(text);
      else {
        this.#clients.delete(res);
        res.destroy();
      }
    }
    if (this.#clients.size === 0) this.#idle();
  }

  /** Nobody is watching: stop decoding every appended record on the Check path's event loop. */
  #idle(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }
}
