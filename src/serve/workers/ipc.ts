/**
 * The primary ↔ worker channel (docs/authz.md §12): a symmetric, ordered request/answer protocol over a
 * process's IPC port (node:cluster with `serialization: 'advanced'`, i.e. the structured clone algorithm) or a
 * MessagePort. Everything either side sends within one event-loop turn goes out as ONE message: the requests
 * (a worker's decision records, a primary's state update) and the answers to the other side's requests. A
 * worker at 5000 Checks/s and 64 in flight therefore pays for a few hundred IPC messages per second, not
 * 10 000.
 *
 * Ordering: requests are handled in the order they were sent (a state update sent before a request is applied
 * before it). Answers resolve in whatever order the handlers finish.
 */
import { WorkersError } from './errors.js';

/** The transport under a channel: `process`, a cluster `Worker`, or a MessagePort adapted to this shape. */
export interface IpcPort {
  /**
   * Sends `message`; `done` is told of a failed send (node:child_process calls it instead of emitting 'error',
   * which would crash a process that has no listener: a write to a worker that just died fails with EPIPE).
   */
  send(message: unknown, done?: (err: Error | null) => void): unknown;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

/** A request handler: its result (or its promise's) is the answer; a throw is sent back as an error. */
export type IpcHandler = (payload: unknown) => unknown;

/** One request on the wire: [id, method, payload]. */
type WireCall = [number, string, unknown];
/** One answer on the wire: [id, 1, value] or [id, 0, {code, message}]. */
type WireReply = [number, 1, unknown] | [number, 0, { code: string; message: string }];

/** One message on the wire. The tag keeps it apart from other users of the port (prom-client, node:cluster). */
interface WireBatch {
  sigilIpc: 1;
  calls: WireCall[];
  replies: WireReply[];
}

const isBatch = (m: unknown): m is WireBatch =>
  typeof m === 'object' && m !== null && (m as { sigilIpc?: unknown }).sigilIpc === 1;

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout | undefined;
}

/** Options of {@link IpcChannel}. */
export interface IpcChannelOptions {
  /** Called when a message carries a call to an unknown method, or a malformed batch (default: ignored). */
  onBadMessage?: (err: WorkersError) => void;
}

/** One end of the channel. */
export class IpcChannel {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private calls: WireCall[] = [];
  /** Calls of this turn whose payload is built at flush ({@link callAtFlush}). */
  private builds: [WireCall, () => unknown][] = [];
  private replies: WireReply[] = [];
  private scheduled = false;
  private closedBy: WorkersError | undefined;
  private readonly listener = (m: unknown) => this.receive(m);
  /** A send that failed later (EPIPE, channel closed): nothing sent will be answered. */
  private readonly sent = (err: Error | null) => {
    if (err) this.close(`send failed: ${err.message}`);
  };

  constructor(
    private readonly port: IpcPort,
    private readonly handlers: Readonly<Record<string, IpcHandler>>,
    private readonly opts: IpcChannelOptions = {},
  ) {
    port.on('message', this.listener);
  }

  /** Requests in flight (sent or queued, not yet answered). */
  get inFlight(): number {
    return this.pending.size;
  }

  /** True once {@link close} ran. */
  get closed(): boolean {
    return this.closedBy !== undefined;
  }

  /**
   * Sends `method(payload)` with the other requests of this turn; resolves with the other side's answer.
   * Rejects with WORKERS_CHANNEL_CLOSED when the channel closes first, WORKERS_TIMEOUT after `timeoutMs`,
   * WORKERS_REMOTE_FAILED when the handler threw.
   */
  call(method: string, payload: unknown, timeoutMs?: number): Promise<unknown> {
    return this.enqueue(method, payload, undefined, timeoutMs);
  }

  /**
   * As {@link call}, but the payload is `build()`'s result, taken when this turn's message goes out: a caller
   * that gathers many items per turn (a worker's decision records) sends them as ONE request built once, in
   * the same message and turn as everything else. `build` must not throw.
   */
  callAtFlush(method: string, build: () => unknown, timeoutMs?: number): Promise<unknown> {
    return this.enqueue(method, undefined, build, timeoutMs);
  }

  private enqueue(
    method: string,
    payload: unknown,
    build: (() => unknown) | undefined,
    timeoutMs: number | undefined,
  ): Promise<unknown> {
    if (this.closedBy) return Promise.reject(this.closedBy);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              if (this.pending.delete(id))
                reject(new WorkersError('WORKERS_TIMEOUT', `${method}: no answer in ${timeoutMs} ms`));
            }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      const call: WireCall = [id, method, payload];
      this.calls.push(call);
      if (build) this.builds.push([call, build]);
      this.schedule();
    });
  }

  /**
   * Stops listening and rejects every request still waiting (WORKERS_CHANNEL_CLOSED, with `reason`): the
   * other process is gone, so nothing it was asked will be answered. Idempotent.
   */
  close(reason = 'the channel closed'): void {
    if (this.closedBy) return;
    this.closedBy = new WorkersError('WORKERS_CHANNEL_CLOSED', reason);
    this.port.off('message', this.listener);
    this.calls = [];
    this.builds = [];
    this.replies = [];
    for (const p of this.pending.values()) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(this.closedBy);
    }
    this.pending.clear();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate, not a microtask: everything the poll phase delivered this turn (many gRPC frames) joins.
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    if (this.closedBy || (this.calls.length === 0 && this.replies.length === 0)) return;
    for (const [call, build] of this.builds) call[2] = build();
    this.builds = [];
    const batch: WireBatch = { sigilIpc: 1, calls: this.calls, replies: this.replies };
    this.calls = [];
    this.replies = [];
    try {
      this.port.send(batch, this.sent);
    } catch (e) {
      // The port is gone (process exited, channel closed): nothing sent will be answered.
      this.close(`send failed: ${(e as Error).message}`);
    }
  }

  private receive(m: unknown): void {
    if (!isBatch(m)) return;
    if (!Array.isArray(m.calls) || !Array.isArray(m.replies)) {
      this.opts.onBadMessage?.(new WorkersError('WORKERS_BAD_MESSAGE', 'malformed batch'));
      return;
    }
    for (const r of m.replies) this.answered(r);
    for (const [id, method, payload] of m.calls) this.handle(id, method, payload);
  }

  private answered(r: WireReply): void {
    const p = this.pending.get(r[0]);
    if (p === undefined) return; // timed out already
    this.pending.delete(r[0]);
    if (p.timer) clearTimeout(p.timer);
    if (r[1] === 1) p.resolve(r[2]);
    else
      p.reject(
        new WorkersError('WORKERS_REMOTE_FAILED', `${r[2].code}: ${r[2].message}`, { remoteCode: r[2].code }),
      );
  }

  private handle(id: number, method: string, payload: unknown): void {
    const h = Object.hasOwn(this.handlers, method) ? this.handlers[method] : undefined;
    if (h === undefined) {
      const err = new WorkersError('WORKERS_BAD_MESSAGE', `unknown method ${JSON.stringify(method)}`);
      this.opts.onBadMessage?.(err);
      this.reply([id, 0, { code: err.code, message: err.message }]);
      return;
    }
    let out: unknown;
    try {
      out = h(payload);
    } catch (e) {
      this.reply([id, 0, failure(e)]);
      return;
    }
    if (out instanceof Promise)
      out.then(
        (v) => this.reply([id, 1, v]),
        (e) => this.reply([id, 0, failure(e)]),
      );
    else this.reply([id, 1, out]);
  }

  private reply(r: WireReply): void {
    if (this.closedBy) return;
    this.replies.push(r);
    this.schedule();
  }
}

/** An error as it crosses the channel: its stable code (if any) and message, never a stack. */
function failure(e: unknown): { code: string; message: string } {
  const code =
    typeof (e as { code?: unknown })?.code === 'string' ? (e as { code: string }).code : 'INTERNAL';
  return { code, message: e instanceof Error ? e.message : String(e) };
}
