/**
 * One HTTP/2 server connection over a plaintext socket with prior knowledge (RFC 9113 §3.3): framing, stream
 * states, flow control and the request header checks, for the request/response streams a gRPC server sees.
 * It parses frames straight from the socket's buffers and decodes header blocks into ordinary heap strings:
 * node:http2 hands every received header value to JavaScript as an external string, which V8 allocates in the
 * old generation and only a full collection frees (bench/NOTES.md, session 33); here nothing per request
 * outlives the young generation unless the request itself does.
 *
 * Any protocol violation by the peer ends the connection with GOAWAY (§5.4.1) or the one stream with
 * RST_STREAM (§5.4.2); nothing the peer sends can throw out of this class.
 */
import type { Socket } from 'node:net';
import {
  DEFAULT_MAX_FRAME,
  DEFAULT_WINDOW,
  E,
  F,
  frame,
  goAwayFrame,
  HEADER_BYTES,
  headerBlock,
  MAX_WINDOW,
  NAME,
  PREFACE,
  putHeader,
  S,
  settingsFrame,
  T,
  u32Frame,
} from './frames.js';
import { HeaderListTooLarge, HpackDecoder, HpackError } from './hpack.js';

/** Limits a connection enforces and advertises. */
export interface H2cLimits {
  /** SETTINGS_MAX_CONCURRENT_STREAMS, also counting answered-but-unfinished work of reset streams. */
  maxConcurrentStreams: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE (RFC 9113 §6.5.2 size). */
  maxHeaderListSize: number;
  /** SETTINGS_INITIAL_WINDOW_SIZE: what one stream may send before it is answered. */
  streamWindow: number;
  /** The connection's receive window: request bytes held by streams not yet closed, at most. */
  connectionWindow: number;
  /** Bytes queued to the socket beyond which the peer is taken to be not reading, and cut. */
  maxOutboundBytes: number;
}

/** A request stream as the gRPC layer sees it. */
export class H2cStream {
  /** Request pseudo-headers and the headers gRPC reads; other headers are validated and dropped. */
  method = '';
  path = '';
  scheme = '';
  contentType: string | undefined;
  grpcTimeout: string | undefined;
  grpcEncoding: string | undefined;
  /** The peer has ended its side (END_STREAM) or the stream is reset. */
  remoteClosed = false;
  /** This side has sent END_STREAM or RST_STREAM: nothing more may be sent. */
  localClosed = false;
  /** Work on the stream is running (set by the gRPC layer); a reset while busy keeps counting the stream. */
  busy = false;
  /** Monotonic ms by which it must be answered (0: none); enforced by the server's sweep. */
  deadline = 0;
  /** Called with each DATA payload: a view of the socket's buffer, which it keeps alive while held. */
  onData: ((chunk: Buffer) => void) | undefined;
  /** Called once when the peer ends its side. */
  onEnd: (() => void) | undefined;
  /** @internal send window (RFC 9113 §6.9). */
  sendWindow: number;
  /** @internal request bytes the peer may still send. */
  recvWindow: number;
  /** @internal request bytes received, returned to the connection window when the stream ends. */
  received = 0;
  /** @internal DATA not yet sent for lack of window, then the trailer block that ends the stream. */
  pendingData: Buffer | undefined;
  pendingTrailers: Buffer | undefined;
  /** @internal declared content-length (-1: none) and the DATA payload bytes seen (§8.1.1). */
  contentLength = -1;
  bodyBytes = 0;
  /** @internal regular headers have begun (pseudo-headers must precede them, §8.3). */
  sawRegular = false;
  /** @internal the header block being decoded is malformed (§8.1.1). */
  malformed = false;

  constructor(
    readonly id: number,
    sendWindow: number,
    recvWindow: number,
  ) {
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }
}

/** What the connection asks of the gRPC layer. */
export interface H2cHandler {
  /** A stream's request headers are complete and well-formed; it may answer now or later. */
  onRequest(conn: H2cConnection, stream: H2cStream): void;
  /** The connection is gone: streams still open will never be answered. */
  onClose(conn: H2cConnection): void;
}

/** The PING payload of a graceful close ({@link H2cConnection.goAway}). */
const GOAWAY_PING = Buffer.from('sigil-ga', 'latin1');

/** How many reset stream ids a connection remembers (late DATA on them is not a connection error). */
const RESETS_KEPT = 1024;

/** Connection-specific header fields a request must not carry (RFC 9113 §8.2.2). */
const CONNECTION_SPECIFIC = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
]);

/** A field name is lowercase and a token (RFC 9113 §8.2.1, RFC 9110 §5.1); pseudo names are checked apart. */
const NAME_RE = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
/** Field values: no NUL, CR or LF anywhere, no leading or trailing space or tab (RFC 9113 §8.2.1). */
const BAD_VALUE_RE = /[\0\r\n]|^[ \t]|[ \t]$/;

/** One server connection; see the module comment. */
export class H2cConnection {
  private readonly streams = new Map<number, H2cStream>();
  private readonly hpack: HpackDecoder;
  private pending: Buffer | undefined;
  private prefaceDone = false;
  private settingsSeen = false;
  /** Highest stream id the peer opened (RFC 9113 §5.1.1); also GOAWAY's last stream. */
  private lastStream = 0;
  /** Reset streams whose work is still running: they still count against the concurrency limit. */
  private orphans = 0;
  /** Header block in progress: stream id and fragments (HEADERS then CONTINUATION, §6.10). */
  private blockStream = 0;
  private blockEndStream = false;
  private blockParts: Buffer[] = [];
  private blockBytes = 0;
  /** The HEADERS gave its own stream as its dependency (§5.3.1). */
  private blockSelfDependent = false;
  /**
   * Recently reset streams, oldest dropped first: true when this side sent the RST_STREAM (the peer's DATA in
   * flight is then ignored), false when the peer did (its DATA after that is a stream error), §5.1 "closed".
   */
  private readonly resets = new Map<number, boolean>();
  /** The stream whose header block is being decoded (the HPACK callback's target; undefined: discard). */
  private decodeTarget: H2cStream | undefined;
  /** Flow control (RFC 9113 §6.9). */
  private sendWindow = DEFAULT_WINDOW;
  private peerStreamWindow = DEFAULT_WINDOW;
  private peerMaxFrame = DEFAULT_MAX_FRAME;
  private recvWindow = DEFAULT_WINDOW;
  private recvCredit = 0;
  private readonly blocked = new Set<H2cStream>();
  /** GOAWAY sent: no new streams; the socket ends once the open ones are done. */
  private draining = false;
  /** The first GOAWAY of {@link goAway} is out: streams still start until its PING comes back. */
  goingAway = false;
  private corked = false;
  /** True once the socket is ended or destroyed. */
  closed = false;

  constructor(
    private readonly socket: Socket,
    private readonly limits: H2cLimits,
    private readonly handler: H2cHandler,
  ) {
    this.hpack = new HpackDecoder({ maxHeaderListSize: limits.maxHeaderListSize });
    socket.on('data', (chunk: Buffer) => this.onBytes(chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.onSocketClose());
    // Server preface (§3.4): our SETTINGS first, then open the connection window to its full size (§6.9.2).
    this.write(
      settingsFrame([
        [S.MAX_CONCURRENT_STREAMS, limits.maxConcurrentStreams],
        [S.INITIAL_WINDOW_SIZE, limits.streamWindow],
        [S.MAX_HEADER_LIST_SIZE, limits.maxHeaderListSize],
        [S.ENABLE_PUSH, 0],
      ]),
    );
    if (limits.connectionWindow > DEFAULT_WINDOW) {
      this.write(u32Frame(T.WINDOW_UPDATE, 0, limits.connectionWindow - DEFAULT_WINDOW));
      this.recvWindow = limits.connectionWindow;
    }
  }

  /** When the socket was accepted (monotonic ms), for the server's preface deadline. */
  readonly openedAt = performance.now();

  /** The peer has sent the connection preface and its first SETTINGS (§3.4): it speaks HTTP/2. */
  get started(): boolean {
    return this.settingsSeen;
  }

  /** Highest stream id the peer has opened: it grows with every new call, so the server can tell idle time. */
  get lastStreamId(): number {
    return this.lastStream;
  }

  /** Streams open or half-closed, plus reset streams still at work. */
  get activeStreams(): number {
    return this.streams.size + this.orphans;
  }

  /** Open streams, for the server's deadline sweep and drain. */
  openStreams(): IterableIterator<H2cStream> {
    return this.streams.values();
  }

  // ---- sending --------------------------------------------------------------------------------------------

  private write(buf: Buffer): void {
    if (this.closed) return;
    if (!this.corked) {
      // Answers settled in one tick (a group commit resolves many) leave in one writev.
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(buf);
    if (this.socket.writableLength > this.limits.maxOutboundBytes) this.destroy();
  }

  /** Sends a header block in one HEADERS frame (the server's blocks are far below any frame size). */
  sendHeaders(stream: H2cStream, block: Buffer, endStream: boolean): void {
    if (stream.localClosed || this.closed) return;
    const out = Buffer.allocUnsafe(HEADER_BYTES + block.length);
    putHeader(out, 0, block.length, T.HEADERS, F.END_HEADERS | (endStream ? F.END_STREAM : 0), stream.id);
    block.copy(out, HEADER_BYTES);
    this.write(out);
    if (endStream) this.endLocal(stream);
  }

  /**
   * A whole unary gRPC answer: HEADERS, one DATA frame with `message` behind the gRPC Length-Prefixed-Message
   * prefix, and the trailers, in one buffer and one write when the windows admit it (nearly always: an answer
   * is small). Each Buffer is an ArrayBuffer the young generation's collection must sweep, so one per answer,
   * not one per frame. Otherwise it falls back to {@link sendHeaders} + {@link sendData}.
   */
  sendUnary(stream: H2cStream, headers: Buffer, message: Uint8Array, trailers: Buffer): void {
    if (stream.localClosed || this.closed) return;
    const dataLen = 5 + message.length;
    if (
      stream.pendingData !== undefined ||
      dataLen > this.peerMaxFrame ||
      dataLen > this.sendWindow ||
      dataLen > stream.sendWindow
    ) {
      this.sendHeaders(stream, headers, false);
      const framed = Buffer.allocUnsafe(dataLen);
      framed[0] = 0;
      framed.writeUInt32BE(message.length, 1);
      framed.set(message, 5);
      this.sendData(stream, framed, trailers);
      return;
    }
    const out = Buffer.allocUnsafe(3 * HEADER_BYTES + headers.length + dataLen + trailers.length);
    let o = 0;
    putHeader(out, o, headers.length, T.HEADERS, F.END_HEADERS, stream.id);
    o += HEADER_BYTES + headers.copy(out, o + HEADER_BYTES);
    putHeader(out, o, dataLen, T.DATA, 0, stream.id);
    o += HEADER_BYTES;
    out[o] = 0;
    out.writeUInt32BE(message.length, o + 1);
    out.set(message, o + 5);
    o += dataLen;
    putHeader(out, o, trailers.length, T.HEADERS, F.END_HEADERS | F.END_STREAM, stream.id);
    trailers.copy(out, o + HEADER_BYTES);
    this.sendWindow -= dataLen;
    stream.sendWindow -= dataLen;
    this.write(out);
    this.endLocal(stream);
  }

  /**
   * Sends `data` as DATA frames, then `trailers` (if given) as the HEADERS that ends the stream. What the
   * flow-control windows do not admit yet waits for the peer's WINDOW_UPDATE, trailers behind it.
   */
  sendData(stream: H2cStream, data: Buffer, trailers?: Buffer): void {
    if (stream.localClosed || this.closed) return;
    if (stream.pendingData !== undefined) {
      stream.pendingData = Buffer.concat([stream.pendingData, data]);
      if (trailers !== undefined) stream.pendingTrailers = trailers;
      return;
    }
    stream.pendingData = data;
    stream.pendingTrailers = trailers;
    this.flush(stream);
  }

  /** Sends what the windows admit of a stream's pending DATA, then its trailers once the DATA is out. */
  private flush(stream: H2cStream): void {
    const data = stream.pendingData;
    if (data === undefined) return;
    // A window may be negative: the peer may shrink SETTINGS_INITIAL_WINDOW_SIZE after data was sent (§6.9.2).
    const can = Math.max(0, Math.min(data.length, this.sendWindow, stream.sendWindow));
    if (can === 0 && data.length > 0) {
      this.blocked.add(stream);
      return;
    }
    const trailers = can === data.length ? stream.pendingTrailers : undefined;
    const frames = Math.ceil(can / this.peerMaxFrame);
    const out = Buffer.allocUnsafe(
      frames * HEADER_BYTES + can + (trailers ? HEADER_BYTES + trailers.length : 0),
    );
    let o = 0;
    for (let at = 0; at < can; ) {
      const n = Math.min(this.peerMaxFrame, can - at);
      putHeader(out, o, n, T.DATA, 0, stream.id);
      data.copy(out, o + HEADER_BYTES, at, at + n);
      o += HEADER_BYTES + n;
      at += n;
    }
    this.sendWindow -= can;
    stream.sendWindow -= can;
    if (trailers !== undefined) {
      putHeader(out, o, trailers.length, T.HEADERS, F.END_HEADERS | F.END_STREAM, stream.id);
      trailers.copy(out, o + HEADER_BYTES);
    }
    if (out.length > 0) this.write(out);
    if (can === data.length) {
      stream.pendingData = undefined;
      this.blocked.delete(stream);
      if (trailers !== undefined) {
        stream.pendingTrailers = undefined;
        this.endLocal(stream);
      }
    } else {
      stream.pendingData = data.subarray(can);
      this.blocked.add(stream);
    }
  }

  /** Resets a stream (RFC 9113 §6.4). */
  reset(stream: H2cStream, code: number): void {
    if (stream.localClosed || this.closed) return;
    this.resetStreamId(stream.id, code);
    stream.localClosed = true;
    stream.remoteClosed = true;
    this.forget(stream);
  }

  /** The gRPC layer's work on a stream is over (answered or abandoned). */
  finish(stream: H2cStream): void {
    if (!stream.busy) return;
    stream.busy = false;
    if (!this.streams.has(stream.id) && this.orphans > 0) this.orphans--;
  }

  /** Sends RST_STREAM and remembers the id, so DATA the peer had already sent on it is ignored (§5.1). */
  private resetStreamId(id: number, code: number): void {
    this.write(u32Frame(T.RST_STREAM, id, code));
    this.rememberReset(id, true);
  }

  /**
   * A frame on a closed stream (§5.1 "closed"): after our RST_STREAM the peer may have had it in flight, so it is
   * ignored; after the peer's own RST_STREAM it is a stream error; on a stream that ended normally (or was never
   * opened) a connection error with `code`.
   */
  private onClosedStream(id: number, code: number): void {
    const ours = this.resets.get(id);
    if (ours === undefined) this.fail(code);
    else if (!ours) this.write(u32Frame(T.RST_STREAM, id, E.STREAM_CLOSED));
  }

  private rememberReset(id: number, ours: boolean): void {
    if (this.resets.size >= RESETS_KEPT) {
      for (const oldest of this.resets.keys()) {
        this.resets.delete(oldest);
        break;
      }
    }
    this.resets.set(id, ours);
  }

  /** This side sent END_STREAM. A peer still sending is told to stop (§8.1: RST_STREAM(NO_ERROR)). */
  private endLocal(stream: H2cStream): void {
    stream.localClosed = true;
    if (!stream.remoteClosed) {
      this.resetStreamId(stream.id, E.NO_ERROR);
      stream.remoteClosed = true;
    }
    this.forget(stream);
  }

  private forget(stream: H2cStream): void {
    if (!this.streams.delete(stream.id)) return;
    this.blocked.delete(stream);
    stream.onData = undefined;
    stream.onEnd = undefined;
    if (stream.busy) this.orphans++;
    this.giveBack(stream.received);
    stream.received = 0;
    if (this.draining && this.streams.size === 0) this.end();
  }

  /** Returns request bytes to the connection window once their stream is done with them (§6.9). */
  private giveBack(n: number): void {
    this.recvCredit += n;
    // Updates in batches of a sixteenth of the window: one frame per many requests.
    if (this.recvCredit >= this.limits.connectionWindow / 16) {
      this.write(u32Frame(T.WINDOW_UPDATE, 0, this.recvCredit));
      this.recvWindow += this.recvCredit;
      this.recvCredit = 0;
    }
  }

  /**
   * Graceful close without a race (§6.8): GOAWAY(NO_ERROR) naming 2³¹−1, so streams the client opened while
   * it was in flight are still served, and a PING; its ACK (a round trip later) starts {@link drain}. For an
   * idle connection: the client must not find a new call refused. Returns when the PING went out; the server
   * drains a peer that never answers it.
   */
  goAway(): void {
    if (this.goingAway || this.draining || this.closed) return;
    this.goingAway = true;
    this.write(goAwayFrame(0x7fff_ffff, E.NO_ERROR));
    this.write(frame(T.PING, 0, 0, GOAWAY_PING));
  }

  /** GOAWAY(NO_ERROR): no new streams; open streams finish, then the socket ends (§6.8). */
  drain(): void {
    if (this.draining || this.closed) return;
    this.draining = true;
    this.write(goAwayFrame(this.lastStream, E.NO_ERROR));
    if (this.streams.size === 0) this.end();
  }

  /** A connection error (§5.4.1): GOAWAY with the code, then close. */
  private fail(code: number): void {
    if (this.closed) return;
    this.write(goAwayFrame(this.lastStream, code));
    this.end();
  }

  private end(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.corked) this.socket.uncork();
    this.socket.end();
    // A peer that never reads must not keep the socket (and its queued bytes) forever.
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  /** Cuts the connection now. */
  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private onSocketClose(): void {
    this.closed = true;
    for (const s of this.streams.values()) {
      s.localClosed = true;
      s.remoteClosed = true;
    }
    this.streams.clear();
    this.blocked.clear();
    this.handler.onClose(this);
  }

  // ---- receiving ------------------------------------------------------------------------------------------

  private onBytes(chunk: Buffer): void {
    if (this.closed) return;
    let buf = chunk;
    if (this.pending !== undefined) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    let off = 0;
    if (!this.prefaceDone) {
      const n = Math.min(buf.length, PREFACE.length);
      if (buf.compare(PREFACE, 0, n, 0, n) !== 0) {
        // Not HTTP/2 with prior knowledge (an HTTP/1.1 request, TLS, garbage): nothing to answer in.
        this.destroy();
        return;
      }
      if (buf.length < PREFACE.length) {
        this.pending = Buffer.from(buf);
        return;
      }
      this.prefaceDone = true;
      off = PREFACE.length;
    }
    while (buf.length - off >= HEADER_BYTES) {
      const len = (buf[off]! << 16) | (buf[off + 1]! << 8) | buf[off + 2]!;
      // We never raise SETTINGS_MAX_FRAME_SIZE above its initial value (§4.2).
      if (len > DEFAULT_MAX_FRAME) {
        this.fail(E.FRAME_SIZE_ERROR);
        return;
      }
      if (buf.length - off < HEADER_BYTES + len) break;
      const type = buf[off + 3]!;
      const flags = buf[off + 4]!;
      const id = buf.readUInt32BE(off + 5) & 0x7fff_ffff;
      this.onFrame(type, flags, id, buf.subarray(off + HEADER_BYTES, off + HEADER_BYTES + len));
      if (this.closed) return;
      off += HEADER_BYTES + len;
    }
    // Copied: a view would keep the whole socket chunk alive for a few trailing bytes.
    if (off < buf.length) this.pending = Buffer.from(buf.subarray(off));
  }

  private onFrame(type: number, flags: number, id: number, p: Buffer): void {
    // The first frame after the preface is SETTINGS (§3.4).
    if (!this.settingsSeen) {
      if (type !== T.SETTINGS || (flags & F.ACK) !== 0) {
        this.fail(E.PROTOCOL_ERROR);
        return;
      }
      this.settingsSeen = true;
    }
    // Nothing may interleave a header block (§6.10).
    if (this.blockStream !== 0 && (type !== T.CONTINUATION || id !== this.blockStream)) {
      this.fail(E.PROTOCOL_ERROR);
      return;
    }
    switch (type) {
      case T.DATA:
        this.onDataFrame(flags, id, p);
        return;
      case T.HEADERS:
        this.onHeadersFrame(flags, id, p);
        return;
      case T.CONTINUATION:
        if (this.blockStream === 0) {
          this.fail(E.PROTOCOL_ERROR);
          return;
        }
        this.addFragment(p, (flags & F.END_HEADERS) !== 0);
        return;
      case T.PRIORITY:
        // Deprecated signalling (§5.3.2); only its shape is checked.
        if (id === 0) {
          this.fail(E.PROTOCOL_ERROR);
          return;
        }
        if (p.length !== 5) {
          this.streamError(id, E.FRAME_SIZE_ERROR);
          return;
        }
        // A stream cannot depend on itself (§5.3.1).
        if ((p.readUInt32BE(0) & 0x7fff_ffff) === id) this.streamError(id, E.PROTOCOL_ERROR);
        return;
      case T.RST_STREAM:
        this.onReset(id, p);
        return;
      case T.SETTINGS:
        this.onSettings(flags, id, p);
        return;
      case T.PUSH_PROMISE:
        // A client cannot push (§8.4).
        this.fail(E.PROTOCOL_ERROR);
        return;
      case T.PING:
        if (id !== 0) {
          this.fail(E.PROTOCOL_ERROR);
          return;
        }
        if (p.length !== 8) {
          this.fail(E.FRAME_SIZE_ERROR);
          return;
        }
        if ((flags & F.ACK) === 0) this.write(frame(T.PING, F.ACK, 0, p));
        else if (this.goingAway && p.equals(GOAWAY_PING)) this.drain();
        return;
      case T.GOAWAY:
        if (id !== 0) {
          this.fail(E.PROTOCOL_ERROR);
          return;
        }
        if (p.length < 8) {
          this.fail(E.FRAME_SIZE_ERROR);
          return;
        }
        // The peer opens no more streams; the ones it has keep their answers.
        this.drain();
        return;
      case T.WINDOW_UPDATE:
        this.onWindowUpdate(id, p);
        return;
      default:
        // Unknown frame types are ignored (§4.1, §5.5).
        return;
    }
  }

  private onDataFrame(flags: number, id: number, p: Buffer): void {
    if (id === 0) {
      this.fail(E.PROTOCOL_ERROR);
      return;
    }
    // The whole frame, padding included, counts against both windows (§6.9.1).
    this.recvWindow -= p.length;
    if (this.recvWindow < 0) {
      this.fail(E.FLOW_CONTROL_ERROR);
      return;
    }
    const body = this.unpad(flags, p);
    if (body === undefined) {
      this.fail(E.PROTOCOL_ERROR);
      return;
    }
    const stream = this.streams.get(id);
    if (stream === undefined) {
      if (id > this.lastStream) {
        this.fail(E.PROTOCOL_ERROR);
        return;
      }
      // Closed: the bytes still leave the connection window (§6.9). After our RST_STREAM the peer may have had
      // DATA in flight, which is ignored (§5.1 "closed"); on a stream that ended normally it is an error.
      this.giveBack(p.length);
      this.onClosedStream(id, E.STREAM_CLOSED);
      return;
    }
    if (stream.remoteClosed) {
      this.giveBack(p.length);
      this.streamError(id, E.STREAM_CLOSED);
      return;
    }
    stream.recvWindow -= p.length;
    stream.received += p.length;
    if (stream.recvWindow < 0) {
      this.streamError(id, E.FLOW_CONTROL_ERROR);
      return;
    }
    stream.bodyBytes += body.length;
    // §8.1.1: DATA beyond a declared content-length makes the request malformed.
    if (stream.contentLength >= 0 && stream.bodyBytes > stream.contentLength) {
      this.streamError(id, E.PROTOCOL_ERROR);
      return;
    }
    if (body.length > 0) this.guard(stream, stream.onData, body);
    if ((flags & F.END_STREAM) !== 0) this.endRemote(stream);
  }

  /** The payload without its padding (§6.1, §6.2); undefined when the padding is longer than the frame. */
  private unpad(flags: number, p: Buffer, priority = false): Buffer | undefined {
    let start = 0;
    let end = p.length;
    if ((flags & F.PADDED) !== 0) {
      if (p.length < 1) return undefined;
      start = 1;
      end -= p[0]!;
    }
    if (priority) start += 5;
    return end < start ? undefined : p.subarray(start, end);
  }

  private endRemote(stream: H2cStream): void {
    // §8.1.1: a request whose DATA do not add up to its content-length is malformed.
    if (stream.contentLength >= 0 && stream.bodyBytes !== stream.contentLength) {
      this.streamError(stream.id, E.PROTOCOL_ERROR);
      return;
    }
    stream.remoteClosed = true;
    const onEnd = stream.onEnd;
    stream.onEnd = undefined;
    stream.onData = undefined;
    this.guard(stream, onEnd, undefined);
    if (stream.localClosed) this.forget(stream);
  }

  private onHeadersFrame(flags: number, id: number, p: Buffer): void {
    if (id === 0) {
      this.fail(E.PROTOCOL_ERROR);
      return;
    }
    const fragment = this.unpad(flags, p, (flags & F.PRIORITY) !== 0);
    if (fragment === undefined) {
      this.fail(E.PROTOCOL_ERROR);
      return;
    }
    this.blockStream = id;
    this.blockEndStream = (flags & F.END_STREAM) !== 0;
    const depAt = (flags & F.PADDED) !== 0 ? 1 : 0;
    this.blockSelfDependent = (flags & F.PRIORITY) !== 0 && (p.readUInt32BE(depAt) & 0x7fff_ffff) === id;
    this.blockParts = [];
    this.blockBytes = 0;
    this.addFragment(fragment, (flags & F.END_HEADERS) !== 0);
  }

  private addFragment(fragment: Buffer, last: boolean): void {
    this.blockBytes += fragment.length;
    // A header block far beyond the list limit is a CONTINUATION flood (CVE-2024-27316), not a request.
    if (this.blockBytes > 2 * this.limits.maxHeaderListSize + 1024) {
      this.fail(E.ENHANCE_YOUR_CALM);
      return;
    }
    this.blockParts.push(fragment);
    if (!last) return;
    const id = this.blockStream;
    const block = this.blockParts.length === 1 ? this.blockParts[0]! : Buffer.concat(this.blockParts);
    this.blockStream = 0;
    this.blockParts = [];
    this.onHeaderBlock(id, block, this.blockEndStream);
  }

  private onHeaderBlock(id: number, block: Buffer, endStream: boolean): void {
    // Client-initiated streams are odd (§5.1.1).
    if (id % 2 === 0) {
      this.fail(E.PROTOCOL_ERROR);
      return;
    }
    const existing = this.streams.get(id);
    if (existing !== undefined) {
      // Trailers (§8.1): they end the request and carry no pseudo-headers; gRPC requests have none to read,
      // but they are checked like any field block (§8.1.1): on a scratch stream whose regular fields began.
      const trailers = new H2cStream(id, 0, 0);
      trailers.sawRegular = true;
      if (!this.decode(block, trailers)) return;
      if (existing.remoteClosed) {
        this.streamError(id, E.STREAM_CLOSED);
        return;
      }
      if (!endStream || trailers.malformed) {
        this.streamError(id, E.PROTOCOL_ERROR);
        return;
      }
      this.endRemote(existing);
      return;
    }
    // Not open and not new: closed, or skipped and so implicitly closed (§5.1.1).
    if (id <= this.lastStream) {
      // On a reset stream the block is still decoded, so the HPACK context stays in step (§4.3). Ended normally
      // or never opened: a gRPC client sends no second header block, and ids must increase.
      if (this.resets.has(id) && !this.decode(block, undefined)) return;
      this.onClosedStream(id, E.PROTOCOL_ERROR);
      return;
    }
    this.lastStream = id;
    const stream = new H2cStream(id, this.peerStreamWindow, this.limits.streamWindow);
    const refuse = this.draining || this.activeStreams >= this.limits.maxConcurrentStreams;
    const decoded = this.decode(block, refuse || this.blockSelfDependent ? undefined : stream);
    if (decoded === false) return;
    if (refuse || this.blockSelfDependent) {
      // §5.1.2 (over the limit) and §6.8 (after GOAWAY): refused, so the client may retry elsewhere. §5.3.1:
      // a stream that depends on itself is a stream error.
      this.resetStreamId(id, refuse ? E.REFUSED_STREAM : E.PROTOCOL_ERROR);
      return;
    }
    this.streams.set(id, stream);
    stream.remoteClosed = endStream;
    if (decoded === 'too-large') {
      // §10.5.1: 431 for a header list over the advertised limit.
      this.sendHeaders(stream, TOO_LARGE, true);
      return;
    }
    // §8.1.1: a request ended by its HEADERS has no content, whatever its content-length says.
    if (endStream && stream.contentLength > 0) stream.malformed = true;
    if (stream.malformed || stream.method === '' || stream.path === '' || stream.scheme === '') {
      this.streamError(id, E.PROTOCOL_ERROR);
      return;
    }
    try {
      this.handler.onRequest(this, stream);
    } catch {
      // As in guard(): a throwing handler costs its stream, not the connection.
      this.reset(stream, E.INTERNAL_ERROR);
      return;
    }
    if (endStream && !stream.localClosed) {
      const onEnd = stream.onEnd;
      stream.onEnd = undefined;
      this.guard(stream, onEnd, undefined);
    }
    if (stream.localClosed && stream.remoteClosed) this.forget(stream);
  }

  /**
   * Runs a gRPC-layer callback for `stream`. It should not throw; if it does, that stream is reset
   * (INTERNAL_ERROR) and the connection, the other streams and the process carry on.
   */
  private guard<A>(stream: H2cStream, fn: ((arg: A) => void) | undefined, arg: A): void {
    if (fn === undefined) return;
    try {
      fn(arg);
    } catch {
      this.reset(stream, E.INTERNAL_ERROR);
    }
  }

  /** Decodes a block into `target` (undefined: validate and drop). False after a connection error. */
  private decode(block: Buffer, target: H2cStream | undefined): boolean | 'too-large' {
    this.decodeTarget = target;
    try {
      this.hpack.decode(block, this.onField);
      return true;
    } catch (e) {
      if (e instanceof HeaderListTooLarge) return 'too-large';
      // HpackError, or anything unforeseen: the decoder state is lost, so is the connection (§4.3).
      this.fail(e instanceof HpackError ? E.COMPRESSION_ERROR : E.INTERNAL_ERROR);
      return false;
    } finally {
      this.decodeTarget = undefined;
    }
  }

  /** Request header checks (RFC 9113 §8.2, §8.3); a violation marks the request malformed (§8.1.1). */
  private readonly onField = (name: string, value: string): void => {
    const s = this.decodeTarget;
    if (s === undefined || s.malformed) return;
    if (BAD_VALUE_RE.test(value)) {
      s.malformed = true;
      return;
    }
    if (name.charCodeAt(0) === 0x3a /* ':' */) {
      if (s.sawRegular) s.malformed = true;
      else if (name === ':method' && s.method === '') s.method = value;
      else if (name === ':path' && s.path === '') s.path = value;
      else if (name === ':scheme' && s.scheme === '') s.scheme = value;
      else if (name === ':authority') return;
      // Unknown, repeated or response pseudo-headers.
      else s.malformed = true;
      return;
    }
    s.sawRegular = true;
    if (!NAME_RE.test(name) || CONNECTION_SPECIFIC.has(name)) s.malformed = true;
    else if (name === 'te') s.malformed = value !== 'trailers';
    else if (name === 'content-type') s.contentType = value;
    else if (name === 'content-length') {
      // One decimal value (RFC 9110 §8.6); a second or a non-number makes the request malformed.
      if (s.contentLength >= 0 || !/^\d{1,15}$/.test(value)) s.malformed = true;
      else s.contentLength = Number(value);
    } else if (name === 'grpc-timeout') s.grpcTimeout = value;
    else if (name === 'grpc-encoding') s.grpcEncoding = value;
  };

  private onReset(id: number, p: Buffer): void {
    if (id === 0) {
      this.fail(E.PROTOCOL_ERROR);
      return;
    }
    if (p.length !== 4) {
      this.fail(E.FRAME_SIZE_ERROR);
      return;
    }
    if (id > this.lastStream) {
      this.fail(E.PROTOCOL_ERROR);
      return;
    }
    if (!this.resets.has(id)) this.rememberReset(id, false);
    const stream = this.streams.get(id);
    if (stream === undefined) return;
    stream.localClosed = true;
    stream.remoteClosed = true;
    this.forget(stream);
  }

  private onSettings(flags: number, id: number, p: Buffer): void {
    if (id !== 0) {
      this.fail(E.PROTOCOL_ERROR);
      return;
    }
    if ((flags & F.ACK) !== 0) {
      if (p.length !== 0) {
        this.fail(E.FRAME_SIZE_ERROR);
        return;
      }
      return;
    }
    if (p.length % 6 !== 0) {
      this.fail(E.FRAME_SIZE_ERROR);
      return;
    }
    for (let o = 0; o < p.length; o += 6) {
      const key = p.readUInt16BE(o);
      const v = p.readUInt32BE(o + 2);
      if (key === S.ENABLE_PUSH && v > 1) {
        this.fail(E.PROTOCOL_ERROR);
        return;
      }
      if (key === S.INITIAL_WINDOW_SIZE) {
        if (v > MAX_WINDOW) {
          this.fail(E.FLOW_CONTROL_ERROR);
          return;
        }
        // A change applies to every open stream's window (§6.9.2).
        const delta = v - this.peerStreamWindow;
        this.peerStreamWindow = v;
        for (const s of this.streams.values()) {
          s.sendWindow += delta;
          if (s.sendWindow > MAX_WINDOW) {
            this.fail(E.FLOW_CONTROL_ERROR);
            return;
          }
        }
      }
      if (key === S.MAX_FRAME_SIZE) {
        if (v < DEFAULT_MAX_FRAME || v > 0xff_ffff) {
          this.fail(E.PROTOCOL_ERROR);
          return;
        }
        this.peerMaxFrame = v;
      }
      // HEADER_TABLE_SIZE: the server's blocks use no dynamic table. Others: nothing to do, or unknown (ignored).
    }
    this.write(frame(T.SETTINGS, F.ACK, 0));
    this.flushBlocked();
  }

  private onWindowUpdate(id: number, p: Buffer): void {
    if (p.length !== 4) {
      this.fail(E.FRAME_SIZE_ERROR);
      return;
    }
    const inc = p.readUInt32BE(0) & 0x7fff_ffff;
    if (id === 0) {
      if (inc === 0) {
        this.fail(E.PROTOCOL_ERROR);
        return;
      }
      this.sendWindow += inc;
      if (this.sendWindow > MAX_WINDOW) {
        this.fail(E.FLOW_CONTROL_ERROR);
        return;
      }
      this.flushBlocked();
      return;
    }
    if (id > this.lastStream) {
      this.fail(E.PROTOCOL_ERROR);
      return;
    }
    const stream = this.streams.get(id);
    if (stream === undefined) return;
    if (inc === 0) {
      this.streamError(id, E.PROTOCOL_ERROR);
      return;
    }
    stream.sendWindow += inc;
    if (stream.sendWindow > MAX_WINDOW) {
      this.streamError(id, E.FLOW_CONTROL_ERROR);
      return;
    }
    this.flush(stream);
  }

  private flushBlocked(): void {
    for (const s of this.blocked) {
      if (this.sendWindow <= 0 || this.closed) return;
      if (s.sendWindow > 0) this.flush(s);
    }
  }

  /** A stream error (§5.4.2): RST_STREAM with the code; the stream is closed. */
  private streamError(id: number, code: number): void {
    const stream = this.streams.get(id);
    if (stream !== undefined) this.reset(stream, code);
    else this.resetStreamId(id, code);
  }
}

/** `:status: 431` (RFC 6585 §5), the answer to a header list over SETTINGS_MAX_HEADER_LIST_SIZE. */
const TOO_LARGE = headerBlock([[NAME.STATUS, '431']]);
