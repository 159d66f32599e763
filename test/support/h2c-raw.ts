/**
 * A raw HTTP/2 client for the h2c server's protocol tests (test/authz/h2c-protocol.test.ts): hand-built frames
 * (RFC 9113 §4.1, §6) and HPACK blocks of literal fields without Huffman coding (RFC 7541 §6.2), written to a
 * plain node:net socket, and a reader that parses the frames the server sends back. The constants are written
 * out from the RFC here rather than imported from src/authz/h2c/frames.ts, so a wrong constant there shows.
 */
import { connect, type Socket } from 'node:net';
import { HpackDecoder } from '../../src/authz/h2c/hpack.js';

/** Frame types (RFC 9113 §6). */
export const T = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

/** Frame flags (RFC 9113 §6). */
export const F = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

/** Error codes (RFC 9113 §7). */
export const E = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  ENHANCE_YOUR_CALM: 0xb,
} as const;

/** SETTINGS identifiers (RFC 9113 §6.5.2). */
export const S = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

/** The client connection preface (RFC 9113 §3.4). */
export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

// ---- frame builders -------------------------------------------------------------------------------------

/** One frame; the length field is the payload's length unless `length` overrides it. */
export function frame(
  type: number,
  flags: number,
  stream: number,
  payload: Uint8Array | readonly number[] = [],
  length?: number,
): Buffer {
  const p = Buffer.from(payload as Uint8Array);
  const out = Buffer.alloc(9 + p.length);
  const n = length ?? p.length;
  out[0] = (n >>> 16) & 0xff;
  out[1] = (n >>> 8) & 0xff;
  out[2] = n & 0xff;
  out[3] = type;
  out[4] = flags;
  out.writeUInt32BE(stream >>> 0, 5);
  p.copy(out, 9);
  return out;
}

/** SETTINGS with these (identifier, value) pairs. */
export function settings(pairs: ReadonlyArray<readonly [number, number]> = []): Buffer {
  const p = Buffer.alloc(6 * pairs.length);
  pairs.forEach(([id, v], i) => {
    p.writeUInt16BE(id, 6 * i);
    p.writeUInt32BE(v >>> 0, 6 * i + 2);
  });
  return frame(T.SETTINGS, 0, 0, p);
}

/** A frame whose payload is one 32-bit value (RST_STREAM, WINDOW_UPDATE). */
export function u32(type: number, stream: number, value: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(value >>> 0);
  return frame(type, 0, stream, p);
}

export const windowUpdate = (stream: number, increment: number): Buffer =>
  u32(T.WINDOW_UPDATE, stream, increment);
export const rstStream = (stream: number, code: number): Buffer => u32(T.RST_STREAM, stream, code);

/** GOAWAY (RFC 9113 §6.8). */
export function goAway(lastStream: number, code: number): Buffer {
  const p = Buffer.alloc(8);
  p.writeUInt32BE(lastStream, 0);
  p.writeUInt32BE(code, 4);
  return frame(T.GOAWAY, 0, 0, p);
}

/** DATA; END_STREAM unless told otherwise. */
export const data = (stream: number, payload: Uint8Array, endStream = true): Buffer =>
  frame(T.DATA, endStream ? F.END_STREAM : 0, stream, payload);

/** HEADERS with END_HEADERS (and END_STREAM when asked). */
export const headers = (stream: number, block: Uint8Array, endStream = false): Buffer =>
  frame(T.HEADERS, F.END_HEADERS | (endStream ? F.END_STREAM : 0), stream, block);

// ---- HPACK (RFC 7541), encoder side: literals only, no Huffman ------------------------------------------

/** An integer with an N-bit prefix (§5.1); `first` holds the representation's pattern bits. */
export function hpackInt(first: number, prefixBits: number, value: number): number[] {
  const max = 2 ** prefixBits - 1;
  if (value < max) return [first | value];
  const out = [first | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return out;
}

/** A string literal, H = 0 (§5.2), of the string's latin1 bytes. */
export function hpackString(s: string): number[] {
  const b = Buffer.from(s, 'latin1');
  return [...hpackInt(0x00, 7, b.length), ...b];
}

/** A header field representation. */
export type Rep = readonly number[];
/** Literal without indexing, literal name (§6.2.2: 0000 0000). */
export const lit = (name: string, value: string): Rep => [0x00, ...hpackString(name), ...hpackString(value)];
/** Literal with incremental indexing, literal name (§6.2.1: 0100 0000): enters the dynamic table. */
export const litIndexed = (name: string, value: string): Rep => [
  0x40,
  ...hpackString(name),
  ...hpackString(value),
];
/** Indexed field (§6.1): static entries 1–61, dynamic from 62 (newest). */
export const indexed = (index: number): Rep => hpackInt(0x80, 7, index);

/** A header block of these field representations; `[name, value]` pairs are literals without indexing. */
export function block(fields: ReadonlyArray<Rep | readonly [string, string]>): Buffer {
  const out: number[] = [];
  for (const f of fields) {
    if (typeof f[0] === 'string') out.push(...lit(f[0], f[1] as string));
    else out.push(...(f as Rep));
  }
  return Buffer.from(out);
}

export const CHECK_PATH = '/envoy.service.auth.v3.Authorization/Check';
export const HEALTH_CHECK_PATH = '/grpc.health.v1.Health/Check';

/** The fields of a well-formed gRPC request (gRPC PROTOCOL-HTTP2 §Requests). */
export function grpcRequestFields(path = CHECK_PATH): [string, string][] {
  return [
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', path],
    [':authority', 'sigil.test'],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
  ];
}

/** A gRPC Length-Prefixed-Message: flag 0, 4-byte length, message (PROTOCOL-HTTP2 §Requests). */
export function grpcFrame(message: Uint8Array, flag = 0): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out[0] = flag;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/** HEADERS + DATA(END_STREAM) of one unary gRPC call on `stream`. */
export function unaryCall(stream: number, message: Uint8Array, path = CHECK_PATH): Buffer {
  return Buffer.concat([headers(stream, block(grpcRequestFields(path))), data(stream, grpcFrame(message))]);
}

// ---- reader ---------------------------------------------------------------------------------------------

/** A frame the server sent; HEADERS (with its CONTINUATIONs) carries its decoded fields. */
export interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
  fields?: [string, string][];
}

/** What came back on one stream. */
export interface Reply {
  /** The first header block's fields, as a record (last value wins). */
  headers: Record<string, string> | undefined;
  /** The second header block (trailers), when there is one. */
  trailers: Record<string, string> | undefined;
  /** DATA payloads, padding removed, concatenated. */
  data: Buffer;
  /** RST_STREAM's code, when the server reset the stream. */
  rst: number | undefined;
  /** The server ended its side (END_STREAM). */
  ended: boolean;
  /** grpc-status from the trailers, or from the headers of a Trailers-Only answer. */
  grpcStatus: string | undefined;
}

export interface GoAway {
  lastStream: number;
  code: number;
}

const record = (fields: [string, string][]): Record<string, string> => Object.fromEntries(fields);

/** Where to connect: a TCP port on 127.0.0.1, or a unix socket path. */
export type Target = { port: number; host?: string } | { path: string };

/** Options of {@link RawH2.open}. */
export interface OpenOptions {
  /** Send the connection preface (default true). */
  preface?: boolean;
  /** The SETTINGS sent right after the preface; null sends none (default: empty SETTINGS). */
  settings?: ReadonlyArray<readonly [number, number]> | null;
}

/** A raw HTTP/2 connection to the server under test. */
export class RawH2 {
  readonly frames: Frame[] = [];
  /** The server ended its side (FIN). */
  ended = false;
  /** The socket is closed. */
  closed = false;
  /** Set when the server's bytes do not parse as frames or its header blocks as HPACK. */
  parseError: Error | undefined;
  private buf: Buffer = Buffer.alloc(0);
  private readonly hpack = new HpackDecoder({ maxHeaderListSize: 1 << 20 });
  private headerBlock: { stream: number; flags: number; parts: Buffer[] } | undefined;
  private readonly wake = new Set<() => void>();

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onBytes(chunk));
    socket.on('end', () => {
      this.ended = true;
      this.notify();
    });
    socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
    socket.on('error', () => {});
  }

  /** Connects, then sends the preface and SETTINGS (unless told not to). */
  static async open(target: Target, opts: OpenOptions = {}): Promise<RawH2> {
    const socket = 'path' in target ? connect(target.path) : connect(target.port, target.host ?? '127.0.0.1');
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const c = new RawH2(socket);
    if (opts.preface !== false) c.send(PREFACE);
    if (opts.settings !== null) c.send(settings(opts.settings ?? []));
    return c;
  }

  /** Writes bytes (ignored once the socket is gone). */
  send(...bufs: Buffer[]): void {
    if (this.socket.destroyed || this.socket.writableEnded) return;
    this.socket.write(bufs.length === 1 ? bufs[0]! : Buffer.concat(bufs));
  }

  /** Closes the socket. */
  close(): void {
    this.socket.destroy();
  }

  private notify(): void {
    for (const w of [...this.wake]) w();
  }

  private onBytes(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    let off = 0;
    while (this.buf.length - off >= 9) {
      const len = (this.buf[off]! << 16) | (this.buf[off + 1]! << 8) | this.buf[off + 2]!;
      if (this.buf.length - off < 9 + len) break;
      const f: Frame = {
        type: this.buf[off + 3]!,
        flags: this.buf[off + 4]!,
        stream: this.buf.readUInt32BE(off + 5) & 0x7fff_ffff,
        payload: Buffer.from(this.buf.subarray(off + 9, off + 9 + len)),
      };
      off += 9 + len;
      this.onFrame(f);
    }
    this.buf = Buffer.from(this.buf.subarray(off));
    this.notify();
  }

  private onFrame(f: Frame): void {
    this.frames.push(f);
    if (f.type === T.HEADERS) {
      let start = 0;
      let end = f.payload.length;
      if (f.flags & F.PADDED) {
        start = 1;
        end -= f.payload[0]!;
      }
      if (f.flags & F.PRIORITY) start += 5;
      this.headerBlock = { stream: f.stream, flags: f.flags, parts: [f.payload.subarray(start, end)] };
    } else if (f.type === T.CONTINUATION && this.headerBlock !== undefined) {
      this.headerBlock.parts.push(f.payload);
    } else return;
    if ((f.flags & F.END_HEADERS) === 0) return;
    const hb = this.headerBlock!;
    this.headerBlock = undefined;
    const fields: [string, string][] = [];
    try {
      this.hpack.decode(Buffer.concat(hb.parts), (n, v) => fields.push([n, v]));
    } catch (e) {
      this.parseError = e as Error;
    }
    // The decoded block hangs on the HEADERS frame that opened it.
    const opener = [...this.frames].reverse().find((x) => x.type === T.HEADERS && x.stream === hb.stream);
    if (opener !== undefined) opener.fields = fields;
  }

  /** Resolves with `pick()`'s first defined value, re-evaluated on every arrival; rejects after `ms`. */
  until<R>(pick: () => R | undefined, ms = 2000, what = 'a condition'): Promise<R> {
    const now = pick();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise<R>((resolve, reject) => {
      const check = (): void => {
        const v = pick();
        if (v === undefined) return;
        done();
        resolve(v);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${ms} ms waiting for ${what}; frames: ${this.describe()}`));
      }, ms);
      const done = (): void => {
        clearTimeout(timer);
        this.wake.delete(check);
      };
      this.wake.add(check);
    });
  }

  /** The first received frame matching `pred` (waits for it). */
  frame(pred: (f: Frame) => boolean, ms = 2000, what = 'a frame'): Promise<Frame> {
    return this.until(() => this.frames.find(pred), ms, what);
  }

  /** The server's GOAWAY (waits for it). */
  async goAway(ms = 2000): Promise<GoAway> {
    const f = await this.frame((x) => x.type === T.GOAWAY, ms, 'GOAWAY');
    return { lastStream: f.payload.readUInt32BE(0) & 0x7fff_ffff, code: f.payload.readUInt32BE(4) };
  }

  /** Waits for the socket to close. */
  async waitClosed(ms = 2000): Promise<void> {
    await this.until(() => (this.closed ? true : undefined), ms, 'the socket to close');
  }

  /** What came back on `stream` so far. */
  reply(stream: number): Reply {
    const r: Reply = {
      headers: undefined,
      trailers: undefined,
      data: Buffer.alloc(0),
      rst: undefined,
      ended: false,
      grpcStatus: undefined,
    };
    const chunks: Buffer[] = [];
    for (const f of this.frames) {
      if (f.stream !== stream) continue;
      if (f.type === T.HEADERS) {
        const fields = record(f.fields ?? []);
        if (r.headers === undefined) r.headers = fields;
        else r.trailers = fields;
        if (f.flags & F.END_STREAM) r.ended = true;
      } else if (f.type === T.DATA) {
        let start = 0;
        let end = f.payload.length;
        if (f.flags & F.PADDED) {
          start = 1;
          end -= f.payload[0]!;
        }
        chunks.push(f.payload.subarray(start, end));
        if (f.flags & F.END_STREAM) r.ended = true;
      } else if (f.type === T.RST_STREAM) r.rst ??= f.payload.readUInt32BE(0);
    }
    r.data = Buffer.concat(chunks);
    r.grpcStatus = r.trailers?.['grpc-status'] ?? r.headers?.['grpc-status'];
    return r;
  }

  /** Waits until `stream` is ended by the server (END_STREAM) or reset, and returns what came back. */
  response(stream: number, ms = 2000): Promise<Reply> {
    return this.until(
      () => {
        const r = this.reply(stream);
        return r.ended || r.rst !== undefined ? r : undefined;
      },
      ms,
      `the answer on stream ${stream}`,
    );
  }

  /** A short description of the frames received, for failure messages. */
  describe(): string {
    const names = Object.fromEntries(Object.entries(T).map(([k, v]) => [v, k]));
    return (
      this.frames
        .map((f) => {
          const n = names[f.type] ?? `0x${f.type.toString(16)}`;
          const extra =
            f.type === T.RST_STREAM || f.type === T.WINDOW_UPDATE
              ? `(${f.payload.readUInt32BE(0)})`
              : f.type === T.GOAWAY
                ? `(last ${f.payload.readUInt32BE(0)}, code ${f.payload.readUInt32BE(4)})`
                : f.fields
                  ? JSON.stringify(f.fields)
                  : `[${f.payload.length}]`;
          return `${n}#${f.stream}/${f.flags}${extra}`;
        })
        .join(' ') + (this.closed ? ' <closed>' : this.ended ? ' <end>' : '')
    );
  }
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
