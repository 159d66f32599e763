/**
 * The h2c server's HTTP/2 connection layer (src/authz/h2c/connection.ts) against hand-built frames on a raw
 * socket: the RFC 9113 connection and stream rules that node:http2's client never breaks. Every violation must
 * end in the exact GOAWAY or RST_STREAM code the RFC names, never an allow and never an exception out of the
 * server, and the server must keep answering afterwards.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  CheckRequestSchema,
  type CheckResponse,
  CheckResponseSchema,
} from '../../gen/envoy/service/auth/v3/external_auth_pb.js';
import { StatusCode } from '../../gen/envoy/type/v3/http_status_pb.js';
import type { CheckFn } from '../../src/authz/check.js';
import { type AuthzServer, startAuthzServer } from '../../src/authz/index.js';
import { loadConfig } from '../../src/config/index.js';
import { frozenClock } from '../../src/lib/clock.js';
import { checkFromConfig } from '../../src/serve/check-from-config.js';
import { checkRequest, type RequestParts, toolsCall } from '../support/check-request.js';
import {
  block,
  CHECK_PATH,
  data,
  E,
  F,
  type Frame,
  frame,
  goAway,
  grpcFrame,
  grpcRequestFields,
  HEALTH_CHECK_PATH,
  headers,
  indexed,
  litIndexed,
  type OpenOptions,
  RawH2,
  type Reply,
  rstStream,
  S,
  settings,
  sleep,
  T,
  unaryCall,
  windowUpdate,
} from '../support/h2c-raw.js';
import { agentId, testIdentity } from '../support/identity.js';
import { memorySink } from '../support/memory-sink.js';

const clock = frozenClock(1_767_225_600_000);
const id = testIdentity(clock);

const encodeReq = (p: RequestParts = {}, token?: string): Buffer =>
  Buffer.from(toBinary(CheckRequestSchema, create(CheckRequestSchema, checkRequest(p, token))));
const decodeRes = (b: Buffer): CheckResponse => {
  expect(b[0]).toBe(0);
  expect(b.readUInt32BE(1)).toBe(b.length - 5);
  return fromBinary(CheckResponseSchema, b.subarray(5));
};
const mcp = (name: string): RequestParts => ({
  body: JSON.stringify(toolsCall(name)),
  headers: { 'content-type': 'application/json' },
});
const allowRequest = (): Buffer => encodeReq(mcp('fs.read'), id.mint({ scope: ['fs.read'] }).token);

/** A deny whose body is `n` bytes: an answer as large as a test needs. */
function bigDeny(n: number): CheckResponse {
  return create(CheckResponseSchema, {
    status: { code: 7 },
    httpResponse: {
      case: 'deniedResponse',
      value: { status: { code: StatusCode.Forbidden }, body: 'x'.repeat(n) },
    },
  });
}

/** Checks a test holds at the gate until it releases them. */
class Gates {
  private readonly m = new Map<
    string,
    { entered: () => void; inside: Promise<void>; release: () => void; open: Promise<void> }
  >();
  private get(name: string) {
    let g = this.m.get(name);
    if (g === undefined) {
      let entered!: () => void;
      let release!: () => void;
      const inside = new Promise<void>((r) => {
        entered = r;
      });
      const open = new Promise<void>((r) => {
        release = r;
      });
      g = { entered, inside, release, open };
      this.m.set(name, g);
    }
    return g;
  }
  /** Called by the check: signals arrival, waits for release. */
  pass(name: string): Promise<void> {
    const g = this.get(name);
    g.entered();
    return g.open;
  }
  /** Resolves once a check reached the gate. */
  reached(name: string): Promise<void> {
    return this.get(name).inside;
  }
  release(name: string): void {
    this.get(name).release();
  }
  releaseAll(): void {
    for (const g of this.m.values()) g.release();
  }
}

/**
 * The real pipeline (as in server.test.ts), except for CheckRequests whose path asks for control:
 * `/big/<n>` answers a deny with an n-byte body, `/gate/<name>` waits at that gate, then runs the real check.
 */
function testCheck(gates: Gates): CheckFn {
  const config = loadConfig({ env: {}, overrides: { agent: { spiffe_id: agentId('local') } } });
  const real = checkFromConfig(config, { trust: id.trust, ledger: memorySink(), clock }).check;
  return async (req) => {
    const path = req.attributes?.request?.http?.path ?? '';
    if (path.startsWith('/big/')) return bigDeny(Number(path.slice('/big/'.length)));
    if (path.startsWith('/gate/')) await gates.pass(path.slice('/gate/'.length));
    return real(req);
  };
}

const gates = new Gates();
let server: AuthzServer;
const conns: RawH2[] = [];

/** Exceptions that escaped the server (it runs in this process). */
const crashes: unknown[] = [];
const onCrash = (e: unknown): void => {
  crashes.push(e);
};

async function open(opts?: OpenOptions, target: AuthzServer = server): Promise<RawH2> {
  const c = await RawH2.open({ port: target.port }, opts);
  conns.push(c);
  return c;
}

/** A PING round trip: every frame sent before it has been processed once its ACK is back. */
async function barrier(c: RawH2, tag = 0xb0): Promise<void> {
  const payload = Buffer.alloc(8, tag);
  c.send(frame(T.PING, 0, 0, payload));
  await c.frame(
    (f) => f.type === T.PING && (f.flags & F.ACK) !== 0 && f.payload.equals(payload),
    2000,
    'PING ACK',
  );
}

/** A well-formed Check without a token on `stream` of `c` is answered: 200, grpc-status 0, a 401 deny. */
async function answersCheck(c: RawH2, stream: number): Promise<void> {
  c.send(unaryCall(stream, encodeReq()));
  const r = await c.response(stream);
  expectDeny(r, 16);
}

function expectDeny(r: Reply, grpcCode: number): CheckResponse {
  expect([r.headers?.[':status'], r.grpcStatus, r.rst]).toEqual(['200', '0', undefined]);
  const res = decodeRes(r.data);
  expect([res.status?.code, res.httpResponse.case]).toEqual([grpcCode, 'deniedResponse']);
  return res;
}

/** The server still answers a well-formed Check on a fresh connection. */
async function stillServing(target: AuthzServer = server): Promise<void> {
  const c = await open(undefined, target);
  try {
    await answersCheck(c, 1);
  } finally {
    c.close();
  }
}

/** DATA bytes received on `stream` so far. */
const dataBytes = (c: RawH2, stream: number): number =>
  c.frames.filter((f) => f.type === T.DATA && f.stream === stream).reduce((n, f) => n + f.payload.length, 0);

const goAways = (c: RawH2): Frame[] => c.frames.filter((f) => f.type === T.GOAWAY);
const onStream = (c: RawH2, stream: number): Frame[] => c.frames.filter((f) => f.stream === stream);

beforeAll(async () => {
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  server = await startAuthzServer({ listen: '127.0.0.1:0', check: testCheck(gates), transport: 'h2c' });
});
afterEach(() => {
  for (const c of conns.splice(0)) {
    c.close();
    expect(c.parseError, 'the server sent bytes that are not HTTP/2 frames / HPACK').toBeUndefined();
  }
  gates.releaseAll();
  // Stacks, so a failure shows where in the server it was thrown.
  const escaped = crashes.splice(0).map((e) => (e instanceof Error ? (e.stack ?? e.message) : String(e)));
  expect(escaped, 'an exception escaped the h2c server').toEqual([]);
});
afterAll(async () => {
  gates.releaseAll();
  await server?.close();
  process.off('uncaughtException', onCrash);
  process.off('unhandledRejection', onCrash);
});

// ---------------------------------------------------------------------------------------------------------

describe('h2c: connection setup and a full call', () => {
  it('sends SETTINGS first (its limits), opens the connection window, acks our SETTINGS, answers PING', async () => {
    const c = await open();
    await barrier(c);
    const [first, ...rest] = c.frames;
    expect([first?.type, first?.flags, first?.stream]).toEqual([T.SETTINGS, 0, 0]);
    expect(first!.payload.length % 6).toBe(0);
    const advertised = new Map<number, number>();
    for (let o = 0; o < first!.payload.length; o += 6)
      advertised.set(first!.payload.readUInt16BE(o), first!.payload.readUInt32BE(o + 2));
    expect(advertised.get(S.MAX_CONCURRENT_STREAMS)).toBe(1000);
    // One 4 MiB request (+ its 5-byte prefix and 1 KiB slack) fits a stream window.
    expect(advertised.get(S.INITIAL_WINDOW_SIZE)).toBe(4 * 1024 * 1024 + 5 + 1024);
    expect(advertised.get(S.MAX_HEADER_LIST_SIZE)).toBe(16_384);
    expect(advertised.get(S.ENABLE_PUSH)).toBe(0);
    // The connection window goes from 65 535 to 16 MiB right after.
    const wu = rest.find((f) => f.type === T.WINDOW_UPDATE);
    expect([wu?.stream, wu?.payload.readUInt32BE(0)]).toEqual([0, 16 * 1024 * 1024 - 65_535]);
    const ack = c.frames.find((f) => f.type === T.SETTINGS && f.flags === F.ACK);
    expect([ack?.stream, ack?.payload.length]).toEqual([0, 0]);
    // PING: the ACK carries our 8 bytes; a PING ACK from us is not answered.
    const bytes = Buffer.from('01234567');
    c.send(frame(T.PING, F.ACK, 0, Buffer.from('ackackak')), frame(T.PING, 0, 0, bytes));
    const pong = await c.frame((f) => f.type === T.PING && f.payload.equals(bytes));
    expect([pong.flags, pong.stream]).toEqual([F.ACK, 0]);
    expect(c.frames.filter((f) => f.type === T.PING && f.payload.equals(Buffer.from('ackackak')))).toEqual(
      [],
    );
    expect(goAways(c)).toEqual([]);
  });

  it('a valid Check over raw frames: HEADERS(:status 200) + DATA + trailers HEADERS(grpc-status 0, END_STREAM)', async () => {
    const c = await open();
    c.send(unaryCall(1, allowRequest()));
    const r = await c.response(1);
    const frames = onStream(c, 1);
    expect(frames.map((f) => [f.type, f.flags])).toEqual([
      [T.HEADERS, F.END_HEADERS],
      [T.DATA, 0],
      [T.HEADERS, F.END_HEADERS | F.END_STREAM],
    ]);
    expect(frames[0]!.fields).toEqual([
      [':status', '200'],
      ['content-type', 'application/grpc'],
    ]);
    expect(frames[2]!.fields).toEqual([['grpc-status', '0']]);
    const res = decodeRes(r.data);
    expect([res.status?.code, res.httpResponse.case]).toEqual([0, 'okResponse']);
    // A second call on the next stream of the same connection.
    await answersCheck(c, 3);
  });

  it('a Check with request trailers (HEADERS + END_STREAM after DATA) is answered', async () => {
    const c = await open();
    c.send(
      headers(1, block(grpcRequestFields())),
      data(1, grpcFrame(encodeReq()), false),
      headers(1, block([['x-trailer', 'v']]), true),
    );
    expectDeny(await c.response(1), 16);
  });

  it('a Check whose request arrives as a PADDED HEADERS with PRIORITY and PADDED DATA is answered', async () => {
    const c = await open();
    const hb = block(grpcRequestFields());
    // Pad length 3, then the PRIORITY fields (dependency 0, weight 15), the block, 3 bytes of padding.
    const hp = Buffer.concat([Buffer.from([3, 0, 0, 0, 0, 15]), hb, Buffer.alloc(3)]);
    const msg = grpcFrame(encodeReq());
    const dp = Buffer.concat([Buffer.from([7]), msg, Buffer.alloc(7)]);
    c.send(
      frame(T.HEADERS, F.END_HEADERS | F.PADDED | F.PRIORITY, 1, hp),
      frame(T.DATA, F.END_STREAM | F.PADDED, 1, dp),
    );
    expectDeny(await c.response(1), 16);
  });

  it('a Health Check over raw frames: SERVING', async () => {
    const c = await open();
    c.send(unaryCall(1, Buffer.alloc(0), HEALTH_CHECK_PATH));
    const r = await c.response(1);
    expect([r.headers?.[':status'], r.grpcStatus]).toEqual(['200', '0']);
    expect(r.data).toEqual(grpcFrame(Buffer.from([0x08, 0x01])));
  });
});

// ---------------------------------------------------------------------------------------------------------

interface ConnCase {
  name: string;
  /** Frames after the preface and SETTINGS (unless `opts` says otherwise). */
  frames: () => Buffer[];
  code: number;
  lastStream?: number;
  opts?: OpenOptions;
}

const validBlock = (): Buffer => block(grpcRequestFields());
const opened = (stream: number): Buffer => headers(stream, validBlock());
const ping8 = frame(T.PING, 0, 0, Buffer.alloc(8));

const connectionErrors: ConnCase[] = [
  {
    name: 'first frame after the preface not SETTINGS (§3.4)',
    opts: { settings: null },
    frames: () => [ping8],
    code: E.PROTOCOL_ERROR,
  },
  {
    name: 'first frame a SETTINGS ACK (§3.4)',
    opts: { settings: null },
    frames: () => [frame(T.SETTINGS, F.ACK, 0)],
    code: E.PROTOCOL_ERROR,
  },
  {
    name: 'a frame longer than 16384 (§4.2)',
    frames: () => [frame(T.DATA, 0, 1, Buffer.alloc(16_385))],
    code: E.FRAME_SIZE_ERROR,
  },
  {
    name: 'a frame header declaring 16385 bytes, payload not yet sent (§4.2)',
    frames: () => [frame(T.PING, 0, 0, [], 16_385)],
    code: E.FRAME_SIZE_ERROR,
  },
  {
    name: 'HEADERS on an even stream id (§5.1.1)',
    frames: () => [headers(2, validBlock(), true)],
    code: E.PROTOCOL_ERROR,
  },
  {
    name: 'HEADERS on stream 0 (§6.2)',
    frames: () => [headers(0, validBlock(), true)],
    code: E.PROTOCOL_ERROR,
  },
  {
    name: 'DATA on stream 0 (§6.1)',
    frames: () => [data(0, Buffer.from('x'))],
    code: E.PROTOCOL_ERROR,
  },
  {
    name: 'DATA on an idle stream, nothing opened (§5.1)',
    frames: () => [data(5, Buffer.from('x'))],
    code: E.PROTOCOL_ERROR,
  },
  {
    name: 'DATA on an idle stream above the one opened (§5.1)',
    frames: () => [opened(1), data(3, Buffer.from('x'))],
    code: E.PROTOCOL_ERROR,
    lastStream: 1,
  },
  {
    name: 'PING with 7 bytes (§6.7)',
    frames: () => [frame(T.PING, 0, 0, Buffer.alloc(7))],
    code: E.FRAME_SIZE_ERROR,
  },
  {
    name: 'PING with 9 bytes (§6.7)',
    frames: () => [frame(T.PING, 0, 0, Buffer.alloc(9))],
    code: E.FRAME_SIZE_ERROR,
  },
  {
    name: 'PING on stream 1 (§6.7)',
    frames: () => [frame(T.PING, 0, 1, Buffer.alloc(8))],
    code: E.PROTOCOL_ERROR,
  },
  {
    name: 'SETTINGS of 5 bytes (§6.5)',
    frames: () => [frame(T.SETTINGS, 0, 0, Buffer.alloc(5))],
    code: E.FRAME_SIZE_ERROR,
  },
  {
    name: 'SETTINGS ACK with a payload (§6.5)',
    frames: () => [frame(T.SETTINGS, F.ACK, 0, Buffer.alloc(6))],
    code: E.FRAME_SIZE_ERROR,
  },
  {
    name: 'SETTINGS on stream 1 (§6.5)',
    frames: () => [frame(T.SETTINGS, 0, 1)],
    code: E.PROTOCOL_ERROR,
  },
  {
    name: 'SETTINGS_ENABLE_PUSH = 2 (§6.5.2)',
    frames: () => [settings([[S.ENABLE_PUSH, 2]])],
    code: E.PROTOCOL_ERROR,
  },
  {
    name: 'SETTINGS_INITIAL_WINDOW_SIZE = 2^31 (§6.5.2)',
    frames: () => [settings([[S.INITIAL_WINDOW_SIZE, 2 ** 31]])],
    code: E.FLOW_CONTROL_ERROR,
  },
  {
    name: 'SETTINGS_MAX_FRAME_SIZE = 16383 (§6.5.2)',
    frames: () => [settings([[S.MAX_FRAME_SIZE, 16_383]])],
    code: E.PROTOCOL_ERROR,
  },
  {
    name: 'SETTINGS_MAX_FRAME_SIZE = 2^24 (§6.5.2)',
    frames: () => [settings([[S.MAX_FRAME_SIZE, 2 ** 24]])],
    code: E.PROTOCOL_ERROR,
  },
  {
    name: 'WINDOW_UPDATE of 0 on stream 0 (§6.9)',
    frames: () => [windowUpdate(0, 0)],
    code: E.PROTOCOL_ERROR,
  },
  {
    name: 'WINDOW_UPDATE overflowing the connection window past 2^31-1 (§6.9.1)',
    frames: () => [windowUpdate(0, 0x7fff_ffff)],
    code: E.FLOW_CONTROL_ERROR,
  },
  {
    name: 'WINDOW_UPDATE of 3 bytes (§6.9)',
    frames: () => [frame(T.WINDOW_UPDATE, 0, 0, Buffer.from([0, 0, 1]))],
    code: E.FRAME_SIZE_ERROR,
  },
  {
    name: 'WINDOW_UPDATE on an idle stream (§5.1)',
    frames: () => [windowUpdate(9, 100)],
    code: E.PROTOCOL_ERROR,
  },
  {
    name: 'RST_STREAM on stream 0 (§6.4)',
    frames: () => [rstStream(0, E.CANCEL)],
    code: E.PROTOCOL_ERROR,
  },
  {
    name: 'RST_STREAM on an idle stream (§5.1)',
    frames: () => [rstStream(7, E.CANCEL)],
    code: E.PROTOCOL_ERROR,
  },
  {
    name: 'RST_STREAM of 5 bytes (§6.4)',
    frames: () => [opened(1), frame(T.RST_STREAM, 0, 1, Buffer.alloc(5))],
    code: E.FRAME_SIZE_ERROR,
    lastStream: 1,
  },
  {
    name: 'PRIORITY on stream 0 (§6.3)',
    frames: () => [frame(T.PRIORITY, 0, 0, Buffer.alloc(5))],
    code: E.PROTOCOL_ERROR,
  },
  {
    name: 'GOAWAY on stream 1 (§6.8)',
    frames: () => [frame(T.GOAWAY, 0, 1, Buffer.alloc(8))],
    code: E.PROTOCOL_ERROR,
  },
  {
    name: 'GOAWAY of 4 bytes (§6.8)',
    frames: () => [frame(T.GOAWAY, 0, 0, Buffer.alloc(4))],
    code: E.FRAME_SIZE_ERROR,
  },
  {
    name: 'PUSH_PROMISE from the client (§8.4)',
    frames: () => [frame(T.PUSH_PROMISE, F.END_HEADERS, 1, Buffer.from([0, 0, 0, 2, 0x82]))],
    code: E.PROTOCOL_ERROR,
  },
  {
    name: 'HEADERS on another stream between HEADERS (no END_HEADERS) and its CONTINUATION (§6.10)',
    frames: () => [frame(T.HEADERS, 0, 1, validBlock().subarray(0, 10)), headers(3, validBlock(), true)],
    code: E.PROTOCOL_ERROR,
  },
  {
    name: 'CONTINUATION on another stream (§6.10)',
    frames: () => [
      frame(T.HEADERS, 0, 1, validBlock().subarray(0, 10)),
      frame(T.CONTINUATION, F.END_HEADERS, 3, validBlock().subarray(10)),
    ],
    code: E.PROTOCOL_ERROR,
  },
  {
    name: 'PING between HEADERS and its CONTINUATION (§6.10)',
    frames: () => [frame(T.HEADERS, 0, 1, validBlock().subarray(0, 10)), ping8],
    code: E.PROTOCOL_ERROR,
  },
  {
    name: 'an unknown frame type between HEADERS and its CONTINUATION (§5.5)',
    frames: () => [frame(T.HEADERS, 0, 1, validBlock().subarray(0, 10)), frame(0xfa, 0, 0, [1, 2, 3])],
    code: E.PROTOCOL_ERROR,
  },
  {
    name: 'CONTINUATION without a preceding HEADERS (§6.10)',
    frames: () => [frame(T.CONTINUATION, F.END_HEADERS, 1, validBlock())],
    code: E.PROTOCOL_ERROR,
  },
  {
    name: 'CONTINUATION after a block that had END_HEADERS (§6.10)',
    frames: () => [opened(1), frame(T.CONTINUATION, F.END_HEADERS, 1, block([['x-a', 'b']]))],
    code: E.PROTOCOL_ERROR,
    lastStream: 1,
  },
  {
    name: 'HPACK: indexed field 0 (RFC 7541 §6.1)',
    frames: () => [headers(1, Buffer.from([0x80]), true)],
    code: E.COMPRESSION_ERROR,
    // The stream id was taken before its block failed to decode: GOAWAY names it as last.
    lastStream: 1,
  },
  {
    name: 'HPACK: index past the (empty) dynamic table (RFC 7541 §2.3.3)',
    frames: () => [headers(1, Buffer.from([0x83, 0xbe]), true)],
    code: E.COMPRESSION_ERROR,
    // The stream id was taken before its block failed to decode: GOAWAY names it as last.
    lastStream: 1,
  },
  {
    name: 'HPACK: a truncated string literal (RFC 7541 §5.2)',
    frames: () => [headers(1, Buffer.from([0x00, 0x05, 0x61]), true)],
    code: E.COMPRESSION_ERROR,
    // The stream id was taken before its block failed to decode: GOAWAY names it as last.
    lastStream: 1,
  },
  {
    name: 'HPACK: a table size update above SETTINGS_HEADER_TABLE_SIZE (RFC 7541 §6.3)',
    frames: () => [headers(1, Buffer.from([0x3f, 0xe2, 0x1f, 0x82]), true)],
    code: E.COMPRESSION_ERROR,
    // The stream id was taken before its block failed to decode: GOAWAY names it as last.
    lastStream: 1,
  },
  {
    name: 'HPACK: a table size update after a field (RFC 7541 §4.2)',
    frames: () => [headers(1, Buffer.from([0x82, 0x20]), true)],
    code: E.COMPRESSION_ERROR,
    // The stream id was taken before its block failed to decode: GOAWAY names it as last.
    lastStream: 1,
  },
  {
    name: 'a CONTINUATION flood past 2 × 16 KiB + 1 KiB of header block (CVE-2024-27316)',
    frames: () => [
      frame(T.HEADERS, 0, 1, Buffer.alloc(16_384)),
      frame(T.CONTINUATION, 0, 1, Buffer.alloc(16_384)),
      frame(T.CONTINUATION, 0, 1, Buffer.alloc(2000)),
    ],
    code: E.ENHANCE_YOUR_CALM,
  },
  {
    name: 'HEADERS whose padding is longer than the payload (§6.2)',
    frames: () => [frame(T.HEADERS, F.END_HEADERS | F.PADDED, 1, Buffer.from([5, 0x82, 0x86, 0x84]))],
    code: E.PROTOCOL_ERROR,
  },
  {
    name: 'DATA whose padding is as long as the payload (§6.1)',
    frames: () => [opened(1), frame(T.DATA, F.PADDED, 1, Buffer.from([4, 0, 0, 0]))],
    code: E.PROTOCOL_ERROR,
    lastStream: 1,
  },
  {
    name: 'DATA with PADDED and no pad length octet (§6.1)',
    frames: () => [opened(1), frame(T.DATA, F.PADDED, 1, Buffer.alloc(0))],
    code: E.PROTOCOL_ERROR,
    lastStream: 1,
  },
  // Known gaps (see the report): both are ignored today.
  {
    name: 'HEADERS on an even stream id below the last opened one (§5.1.1)',
    frames: () => [opened(3), headers(2, validBlock(), true)],
    code: E.PROTOCOL_ERROR,
    lastStream: 3,
  },
  {
    name: 'HEADERS opening a stream numerically smaller than a previous one (§5.1.1, h2spec 5.1.1/2)',
    frames: () => [headers(5, validBlock(), true), headers(3, validBlock(), true)],
    code: E.PROTOCOL_ERROR,
    lastStream: 5,
  },
];

describe('h2c: connection errors → GOAWAY with the code, then the socket closes', () => {
  it.each(connectionErrors)('$name → GOAWAY($code)', async ({ frames, code, lastStream, opts }) => {
    const c = await open(opts);
    c.send(...frames());
    const g = await c.goAway();
    expect(g).toEqual({ code, lastStream: lastStream ?? 0 });
    await c.waitClosed();
    // GOAWAY is the last thing sent, and there is one.
    expect(c.frames.at(-1)?.type).toBe(T.GOAWAY);
    expect(goAways(c)).toHaveLength(1);
    await stillServing();
  });

  it('DATA beyond the 16 MiB connection window (4 streams × 4 MiB, nothing finished) → GOAWAY(FLOW_CONTROL_ERROR)', async () => {
    const c = await open();
    const MIB4 = 4 * 1024 * 1024;
    const chunks: Buffer[] = [];
    for (const s of [1, 3, 5, 7]) {
      chunks.push(opened(s));
      // One 4 MiB message (the largest accepted), prefix included, never ended: the stream holds its bytes.
      const body = Buffer.alloc(5 + MIB4);
      body.writeUInt32BE(MIB4, 1);
      for (let at = 0; at < body.length; at += 16_384)
        chunks.push(data(s, body.subarray(at, Math.min(at + 16_384, body.length)), false));
    }
    c.send(...chunks);
    const g = await c.goAway(5000);
    expect(g).toEqual({ code: E.FLOW_CONTROL_ERROR, lastStream: 7 });
    // Nothing was answered before: the first three streams were within their windows.
    expect(c.frames.filter((f) => f.type === T.RST_STREAM || f.type === T.HEADERS)).toEqual([]);
    await c.waitClosed(5000);
    await stillServing();
  });
});

// ---------------------------------------------------------------------------------------------------------

/** HEADERS on stream 1 with `fields`, then a body; expects RST_STREAM(code) on 1 and a working stream 3. */
async function expectStreamError(
  fields: ReadonlyArray<readonly [string, string]>,
  code: number,
): Promise<void> {
  const c = await open();
  c.send(headers(1, block(fields)), data(1, grpcFrame(encodeReq())));
  const r = await c.response(1);
  expect(r.rst).toBe(code);
  expect(r.headers).toBeUndefined();
  await answersCheck(c, 3);
  expect(goAways(c)).toEqual([]);
}

const base = grpcRequestFields();
const without = (name: string) => base.filter(([n]) => n !== name);
const withField = (f: readonly [string, string]) => [...base, f];

describe('h2c: malformed requests → RST_STREAM(PROTOCOL_ERROR) on that stream; the connection stays usable', () => {
  const cases: [string, ReadonlyArray<readonly [string, string]>][] = [
    ['an uppercase header name', withField(['X-Upper', 'v'])],
    ['a header name with a space', withField(['x y', 'v'])],
    ['an empty header name', withField(['', 'v'])],
    [
      'a pseudo-header after a regular header',
      [...without(':authority'), [':authority', 'late']] as [string, string][],
    ],
    ['an unknown pseudo-header', withField([':foo', 'x'])],
    ['a response pseudo-header (:status)', [[':status', '200'], ...base] as [string, string][]],
    ['a repeated :path', [[':path', CHECK_PATH], ...base] as [string, string][]],
    ['missing :path', without(':path')],
    ['missing :method', without(':method')],
    ['missing :scheme', without(':scheme')],
    ['an empty :path', [[':path', ''], ...without(':path')] as [string, string][]],
    ['connection: keep-alive', withField(['connection', 'keep-alive'])],
    ['keep-alive', withField(['keep-alive', 'timeout=5'])],
    ['proxy-connection', withField(['proxy-connection', 'x'])],
    ['transfer-encoding: chunked', withField(['transfer-encoding', 'chunked'])],
    ['upgrade: h2c', withField(['upgrade', 'h2c'])],
    ['te: gzip', [...without('te'), ['te', 'gzip']] as [string, string][]],
    ['a value with NUL', withField(['x-a', 'a\0b'])],
    ['a value with CR', withField(['x-a', 'a\rb'])],
    ['a value with LF', withField(['x-a', 'a\nb'])],
    ['a value with a leading space', withField(['x-a', ' a'])],
    ['a value with a trailing tab', withField(['x-a', 'a\t'])],
  ];
  it.each(cases)('%s', async (_name, fields) => {
    await expectStreamError(fields, E.PROTOCOL_ERROR);
  });

  it('request trailers without END_STREAM → RST_STREAM(PROTOCOL_ERROR)', async () => {
    const c = await open();
    c.send(
      headers(1, block(base)),
      data(1, grpcFrame(encodeReq()), false),
      headers(1, block([['x-trailer', 'v']]), false),
    );
    const r = await c.response(1);
    expect([r.rst, r.headers]).toEqual([E.PROTOCOL_ERROR, undefined]);
    await answersCheck(c, 3);
  });

  it.each([
    ['a pseudo-header', [':path', '/x']],
    ['an uppercase name', ['X-Trailer', 'v']],
    ['a connection-specific field', ['connection', 'close']],
    ['a CR in a value', ['x-trailer', 'a\rb']],
  ] as const)(
    'request trailers with %s → RST_STREAM(PROTOCOL_ERROR), never an answer (§8.1)',
    async (_n, field) => {
      const c = await open();
      c.send(
        headers(1, block(base)),
        data(1, grpcFrame(allowRequest()), false),
        headers(1, block([[field[0], field[1]]]), true),
      );
      const r = await c.response(1);
      expect([r.rst, r.headers]).toEqual([E.PROTOCOL_ERROR, undefined]);
      await answersCheck(c, 3);
    },
  );

  it('content-length that the DATA do not add up to → RST_STREAM(PROTOCOL_ERROR) (§8.1.1)', async () => {
    const c = await open();
    const body = grpcFrame(encodeReq());
    // Declared one byte more than sent, then one byte less than sent.
    c.send(headers(1, block([...base, ['content-length', String(body.length + 1)]])), data(1, body));
    c.send(headers(3, block([...base, ['content-length', String(body.length - 1)]])), data(3, body));
    expect([(await c.response(1)).rst, (await c.response(3)).rst]).toEqual([
      E.PROTOCOL_ERROR,
      E.PROTOCOL_ERROR,
    ]);
    // The exact length is a normal call.
    c.send(headers(5, block([...base, ['content-length', String(body.length)]])), data(5, body));
    expectDeny(await c.response(5), 16);
    expect(goAways(c)).toEqual([]);
  });

  it('a stream that depends on itself (HEADERS or PRIORITY) → RST_STREAM(PROTOCOL_ERROR) (§5.3.1)', async () => {
    const c = await open();
    const blk = block([...without('content-type'), litIndexed('content-type', 'application/grpc')]);
    // HEADERS with the PRIORITY flag: 4-byte dependency (on itself), 1-byte weight, then the block.
    const selfDep = Buffer.concat([Buffer.from([0, 0, 0, 1, 16]), blk]);
    c.send(frame(T.HEADERS, F.END_HEADERS | F.PRIORITY, 1, selfDep));
    expect((await c.response(1)).rst).toBe(E.PROTOCOL_ERROR);
    c.send(frame(T.PRIORITY, 0, 3, Buffer.from([0, 0, 0, 3, 16])));
    expect((await c.response(3)).rst).toBe(E.PROTOCOL_ERROR);
    // The refused block's content-type entry (dynamic index 62) is in the table all the same.
    c.send(headers(5, block([...without('content-type'), indexed(62)])), data(5, grpcFrame(encodeReq())));
    expectDeny(await c.response(5), 16);
    expect(goAways(c)).toEqual([]);
  });

  it('DATA on a stream that ended normally → GOAWAY(STREAM_CLOSED) (§5.1 "closed")', async () => {
    const c = await open();
    await answersCheck(c, 1);
    c.send(data(1, Buffer.from('late')));
    expect(await c.goAway()).toEqual({ code: E.STREAM_CLOSED, lastStream: 1 });
    await c.waitClosed();
  });

  it('DATA the client still sends after the server answered early and reset the stream is ignored', async () => {
    const c = await open();
    // A compressed message is refused at its first DATA; the server answers and sends RST_STREAM(NO_ERROR).
    c.send(headers(1, validBlock()), data(1, grpcFrame(encodeReq(), 1), false));
    const r = await c.response(1);
    expect([r.grpcStatus, r.rst]).toEqual(['13', E.NO_ERROR]);
    c.send(data(1, Buffer.from('more'), false), data(1, Buffer.from('end')));
    await barrier(c, 0xb2);
    expect(onStream(c, 1).filter((f) => f.type === T.RST_STREAM)).toHaveLength(1);
    await answersCheck(c, 3);
    expect(goAways(c)).toEqual([]);
  });

  it('PRIORITY of 4 bytes on a stream → RST_STREAM(FRAME_SIZE_ERROR) on it (§6.3)', async () => {
    const c = await open();
    c.send(frame(T.PRIORITY, 0, 1, Buffer.alloc(4)));
    const r = await c.response(1);
    expect(r.rst).toBe(E.FRAME_SIZE_ERROR);
    await answersCheck(c, 3);
    expect(goAways(c)).toEqual([]);
  });

  it('WINDOW_UPDATE of 0 on an open stream → RST_STREAM(PROTOCOL_ERROR) (§6.9)', async () => {
    const c = await open();
    c.send(opened(1), windowUpdate(1, 0));
    const r = await c.response(1);
    expect([r.rst, r.headers]).toEqual([E.PROTOCOL_ERROR, undefined]);
    await answersCheck(c, 3);
    expect(goAways(c)).toEqual([]);
  });

  it('WINDOW_UPDATE overflowing a stream window → RST_STREAM(FLOW_CONTROL_ERROR) (§6.9.1)', async () => {
    const c = await open();
    c.send(opened(1), windowUpdate(1, 0x7fff_ffff));
    const r = await c.response(1);
    expect([r.rst, r.headers]).toEqual([E.FLOW_CONTROL_ERROR, undefined]);
    await answersCheck(c, 3);
    expect(goAways(c)).toEqual([]);
  });

  it('DATA beyond a stream window → RST_STREAM(FLOW_CONTROL_ERROR) on it (§6.9.1)', async () => {
    // maxMessageBytes 1024: a stream window of 1024 + 5 + 1024 = 2053 bytes.
    const small = await startAuthzServer({
      listen: '127.0.0.1:0',
      check: testCheck(gates),
      transport: 'h2c',
      maxMessageBytes: 1024,
    });
    try {
      const c = await open(undefined, small);
      // Padding counts against the window but delivers nothing: 9 × 256 = 2304 > 2053.
      const padded = frame(T.DATA, F.PADDED, 1, Buffer.concat([Buffer.from([255]), Buffer.alloc(255)]));
      c.send(opened(1), ...Array.from({ length: 9 }, () => padded));
      const r = await c.response(1);
      expect([r.rst, r.headers]).toEqual([E.FLOW_CONTROL_ERROR, undefined]);
      await answersCheck(c, 3);
      expect(goAways(c)).toEqual([]);
    } finally {
      await small.close();
    }
  });

  it('DATA after END_STREAM on a half-closed (remote) stream → RST_STREAM(STREAM_CLOSED); the pending allow is never sent', async () => {
    const c = await open();
    // A request that would be allowed, held at a gate so the stream stays half-closed (remote).
    const req = encodeReq(
      { ...mcp('fs.read'), path: '/gate/after-end' },
      id.mint({ scope: ['fs.read'] }).token,
    );
    c.send(unaryCall(1, req));
    await gates.reached('after-end');
    c.send(data(1, Buffer.from('more')));
    const r = await c.response(1);
    expect([r.rst, r.headers]).toEqual([E.STREAM_CLOSED, undefined]);
    gates.release('after-end');
    await sleep(50);
    await answersCheck(c, 3);
    // Nothing but the reset ever came on stream 1.
    expect(onStream(c, 1).map((f) => f.type)).toEqual([T.RST_STREAM]);
    expect(goAways(c)).toEqual([]);
  });

  it('HEADERS on a half-closed (remote) stream → RST_STREAM(STREAM_CLOSED) (§5.1); the pending allow is never sent', async () => {
    const c = await open();
    const req = encodeReq(
      { ...mcp('fs.read'), path: '/gate/after-end-headers' },
      id.mint({ scope: ['fs.read'] }).token,
    );
    c.send(unaryCall(1, req));
    await gates.reached('after-end-headers');
    c.send(headers(1, block([['x-late', 'v']]), true));
    const r = await c.response(1);
    gates.release('after-end-headers');
    expect([r.rst, r.headers]).toEqual([E.STREAM_CLOSED, undefined]);
    await sleep(50);
    await answersCheck(c, 3);
    expect(onStream(c, 1).map((f) => f.type)).toEqual([T.RST_STREAM]);
    expect(goAways(c)).toEqual([]);
  });

  it('a client RST_STREAM while the Check runs: the answer is dropped, the connection keeps working', async () => {
    const c = await open();
    const req = encodeReq(
      { ...mcp('fs.read'), path: '/gate/cancelled' },
      id.mint({ scope: ['fs.read'] }).token,
    );
    c.send(unaryCall(1, req));
    await gates.reached('cancelled');
    c.send(rstStream(1, E.CANCEL));
    await barrier(c);
    gates.release('cancelled');
    await sleep(50);
    await answersCheck(c, 3);
    expect(onStream(c, 1)).toEqual([]);
    // DATA after the client's own RST_STREAM is a stream error STREAM_CLOSED (§5.1 "closed"), never an answer
    // and not a connection error. WINDOW_UPDATE and RST_STREAM there are ignored.
    // A header block there too (decoded for the HPACK context, then the same stream error).
    c.send(
      data(1, Buffer.from('late')),
      headers(1, block([['x-late', 'v']]), true),
      windowUpdate(1, 10),
      rstStream(1, E.CANCEL),
    );
    await barrier(c, 0xb1);
    const after = onStream(c, 1).map((f) => [f.type, f.payload.readUInt32BE(0)]);
    expect(after).toEqual([
      [T.RST_STREAM, E.STREAM_CLOSED],
      [T.RST_STREAM, E.STREAM_CLOSED],
    ]);
    await answersCheck(c, 5);
    expect(goAways(c)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('h2c: header list limit and HPACK state', () => {
  it('a header list over 16 KiB (HEADERS + CONTINUATION) → HEADERS :status 431; entries it added to the dynamic table still count', async () => {
    const c = await open();
    const pad = (i: number) => [`x-pad-${i}`, 'p'.repeat(6000)] as [string, string];
    const big = block([
      litIndexed(':path', CHECK_PATH), // dynamic index 63 once the next one is in, within the limit
      [':method', 'POST'],
      [':scheme', 'http'],
      [':authority', 'sigil.test'],
      pad(1),
      pad(2),
      pad(3),
      litIndexed('content-type', 'application/grpc'), // dynamic index 62, past the limit
    ]);
    expect(big.length).toBeGreaterThan(16_384);
    expect(big.length).toBeLessThanOrEqual(33 * 1024);
    c.send(
      frame(T.HEADERS, F.END_STREAM, 1, big.subarray(0, 16_384)),
      frame(T.CONTINUATION, F.END_HEADERS, 1, big.subarray(16_384)),
    );
    const r = await c.response(1);
    expect(onStream(c, 1).map((f) => [f.type, f.flags])).toEqual([[T.HEADERS, F.END_HEADERS | F.END_STREAM]]);
    expect(onStream(c, 1)[0]!.fields).toEqual([[':status', '431']]);
    expect(r.rst).toBeUndefined();
    // The next block names :path and content-type only by their dynamic-table indices.
    const next = block([
      [':method', 'POST'],
      [':scheme', 'http'],
      indexed(63),
      [':authority', 'sigil.test'],
      indexed(62),
      ['te', 'trailers'],
    ]);
    c.send(headers(3, next), data(3, grpcFrame(encodeReq())));
    expectDeny(await c.response(3), 16);
    expect(goAways(c)).toEqual([]);
  });

  it('a malformed (reset) stream still updates the dynamic table; a late HEADERS on it is decoded and ignored; on a stream that ended normally it ends the connection', async () => {
    const c = await open();
    // Stream 1: malformed (uppercase name), but its :path and content-type entries enter the table.
    c.send(
      headers(
        1,
        block([
          [':method', 'POST'],
          [':scheme', 'http'],
          litIndexed(':path', CHECK_PATH),
          [':authority', 'sigil.test'],
          litIndexed('content-type', 'application/grpc'),
          ['te', 'trailers'],
          ['X-Bad', 'v'],
        ]),
        true,
      ),
    );
    expect((await c.response(1)).rst).toBe(E.PROTOCOL_ERROR);
    // Stream 3 uses both: content-type is 62 (newest), :path 63.
    const next = block([
      [':method', 'POST'],
      [':scheme', 'http'],
      indexed(63),
      [':authority', 'sigil.test'],
      indexed(62),
      ['te', 'trailers'],
    ]);
    c.send(headers(3, next), data(3, grpcFrame(encodeReq())));
    expectDeny(await c.response(3), 16);
    expect(goAways(c)).toEqual([]);
    // Stream 1 was reset by the server: a header block the client had in flight is ignored (§5.1 "closed"), but
    // decoded (§4.3): its literal enters the table as 62, moving content-type to 63 and :path to 64.
    c.send(headers(1, block([litIndexed('x-late', 'v')]), true));
    const after = block([
      [':method', 'POST'],
      [':scheme', 'http'],
      indexed(64),
      [':authority', 'sigil.test'],
      indexed(63),
      ['te', 'trailers'],
      indexed(62),
    ]);
    c.send(headers(5, after), data(5, grpcFrame(encodeReq())));
    expectDeny(await c.response(5), 16);
    expect(onStream(c, 1).filter((f) => f.type !== T.RST_STREAM)).toEqual([]);
    expect(goAways(c)).toEqual([]);
    // Stream 3 ended normally: a second header block there is not a new stream (ids only increase, §5.1.1).
    c.send(headers(3, block([[':path', CHECK_PATH]]), true));
    expect(await c.goAway()).toEqual({ code: E.PROTOCOL_ERROR, lastStream: 5 });
    await c.waitClosed();
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('h2c: concurrency limit', () => {
  it('streams beyond MAX_CONCURRENT_STREAMS (1000) → RST_STREAM(REFUSED_STREAM); a freed slot is reused', async () => {
    const c = await open();
    const out: Buffer[] = [];
    // 1000 open streams (1, 3, …, 1999) waiting for their body.
    for (let s = 1; s <= 1999; s += 2) out.push(opened(s));
    // 2001 is refused; its block adds content-type to the dynamic table all the same.
    out.push(
      headers(2001, block([...without('content-type'), litIndexed('content-type', 'application/grpc')])),
    );
    out.push(opened(2003));
    c.send(...out);
    const r2001 = await c.response(2001);
    const r2003 = await c.response(2003);
    expect([r2001.rst, r2003.rst]).toEqual([E.REFUSED_STREAM, E.REFUSED_STREAM]);
    await barrier(c);
    expect(c.frames.filter((f) => f.type === T.RST_STREAM).map((f) => f.stream)).toEqual([2001, 2003]);
    expect(c.frames.filter((f) => f.type === T.HEADERS)).toEqual([]);
    // One stream given up by the client frees one slot.
    c.send(rstStream(1, E.CANCEL));
    const next = block([...without('content-type'), indexed(62)]);
    c.send(headers(2005, next), data(2005, grpcFrame(encodeReq())));
    expectDeny(await c.response(2005), 16);
    // Still full again: the next one is refused.
    c.send(opened(2007), opened(2009));
    expect((await c.response(2009)).rst).toBe(E.REFUSED_STREAM);
    expect(c.reply(2007).rst).toBeUndefined();
    expect(goAways(c)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('h2c: flow control of the answers', () => {
  const bigReq = (n: number) => encodeReq({ path: `/big/${n}` });
  const framedLen = (n: number) => grpcFrame(toBinary(CheckResponseSchema, bigDeny(n))).length;

  it('an answer larger than the stream window (INITIAL_WINDOW_SIZE 10) waits for WINDOW_UPDATE', async () => {
    const c = await open({ settings: [[S.INITIAL_WINDOW_SIZE, 10]] });
    c.send(unaryCall(1, bigReq(2000)));
    await c.until(() => (dataBytes(c, 1) >= 10 ? true : undefined), 2000, '10 bytes of DATA');
    await sleep(100);
    await barrier(c);
    expect(dataBytes(c, 1)).toBe(10);
    expect(c.reply(1).ended).toBe(false);
    expect(onStream(c, 1)[0]!.fields).toEqual([
      [':status', '200'],
      ['content-type', 'application/grpc'],
    ]);
    c.send(windowUpdate(1, 100_000), windowUpdate(0, 100_000));
    const r = await c.response(1);
    expect(r.data.length).toBe(framedLen(2000));
    const res = decodeRes(r.data);
    expect(res.httpResponse.case === 'deniedResponse' && res.httpResponse.value.body.length).toBe(2000);
    expect(r.trailers).toEqual({ 'grpc-status': '0' });
  });

  it('a larger INITIAL_WINDOW_SIZE in a later SETTINGS releases a blocked answer (§6.9.2)', async () => {
    const c = await open({ settings: [[S.INITIAL_WINDOW_SIZE, 10]] });
    c.send(unaryCall(1, bigReq(2000)));
    await c.until(() => (dataBytes(c, 1) >= 10 ? true : undefined), 2000, '10 bytes of DATA');
    c.send(settings([[S.INITIAL_WINDOW_SIZE, 65_535]]));
    const r = await c.response(1);
    expect(r.data.length).toBe(framedLen(2000));
    expect(r.grpcStatus).toBe('0');
  });

  it('an answer larger than the connection window (65 535) waits for a connection WINDOW_UPDATE', async () => {
    const c = await open({ settings: [[S.INITIAL_WINDOW_SIZE, 1 << 20]] });
    c.send(unaryCall(1, bigReq(70_000)));
    await c.until(() => (dataBytes(c, 1) >= 65_535 ? true : undefined), 2000, '65 535 bytes of DATA');
    await sleep(100);
    await barrier(c);
    expect(dataBytes(c, 1)).toBe(65_535);
    expect(c.reply(1).ended).toBe(false);
    // DATA frames stay within the 16 384 default SETTINGS_MAX_FRAME_SIZE.
    expect(Math.max(...onStream(c, 1).map((f) => f.payload.length))).toBeLessThanOrEqual(16_384);
    c.send(windowUpdate(0, 10_000));
    const r = await c.response(1);
    expect(r.data.length).toBe(framedLen(70_000));
    expect(r.trailers).toEqual({ 'grpc-status': '0' });
  });

  it('a SETTINGS that shrinks a stream window below zero (§6.9.2) holds the rest until the window is positive again', async () => {
    const c = await open({ settings: [[S.INITIAL_WINDOW_SIZE, 10]] });
    c.send(unaryCall(1, bigReq(2000)));
    await c.until(() => (dataBytes(c, 1) >= 10 ? true : undefined), 2000, '10 bytes of DATA');
    // Window 10 - 10 sent = 0; lowering the initial size to 5 makes it -5 (legal, §6.9.2).
    c.send(settings([[S.INITIAL_WINDOW_SIZE, 5]]));
    await barrier(c);
    expect(dataBytes(c, 1)).toBe(10);
    // +5 brings it back to 0: still nothing.
    c.send(windowUpdate(1, 5));
    await barrier(c, 0xb1);
    expect(dataBytes(c, 1)).toBe(10);
    c.send(windowUpdate(1, 100_000));
    const r = await c.response(1);
    expect(r.data.length).toBe(framedLen(2000));
    expect(r.grpcStatus).toBe('0');
    expect(goAways(c)).toEqual([]);
  });

  it('a larger SETTINGS_MAX_FRAME_SIZE lets DATA frames grow past 16 384', async () => {
    const c = await open({
      settings: [
        [S.INITIAL_WINDOW_SIZE, 1 << 20],
        [S.MAX_FRAME_SIZE, 1 << 16],
      ],
    });
    c.send(windowUpdate(0, 1 << 20), unaryCall(1, bigReq(50_000)));
    const r = await c.response(1);
    expect(r.data.length).toBe(framedLen(50_000));
    const sizes = onStream(c, 1)
      .filter((f) => f.type === T.DATA)
      .map((f) => f.payload.length);
    expect(sizes).toEqual([framedLen(50_000)]);
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('h2c: health Watch and flow control on close()', () => {
  it('close() with a Watch stream whose window went below zero: NOT_SERVING waits for the window, close() resolves', async () => {
    const s = await startAuthzServer({
      listen: '127.0.0.1:0',
      check: testCheck(new Gates()),
      transport: 'h2c',
      drainMs: 2000,
    });
    try {
      const c = await open({ settings: [[S.INITIAL_WINDOW_SIZE, 10]] }, s);
      c.send(unaryCall(1, Buffer.alloc(0), '/grpc.health.v1.Health/Watch'));
      // SERVING: a 7-byte message, leaving 3 bytes of the stream window.
      await c.until(() => (dataBytes(c, 1) === 7 ? true : undefined), 2000, 'the SERVING message');
      expect(c.reply(1).data).toEqual(grpcFrame(Buffer.from([0x08, 0x01])));
      // The initial window drops to 0: this stream's window is now 3 - 10 = -7 (§6.9.2).
      c.send(settings([[S.INITIAL_WINDOW_SIZE, 0]]));
      await barrier(c);
      const closing = s.close();
      expect(await c.goAway()).toEqual({ lastStream: 1, code: E.NO_ERROR });
      expect(dataBytes(c, 1)).toBe(7);
      c.send(windowUpdate(1, 100));
      const r = await c.response(1);
      // SERVING, then NOT_SERVING (2), then grpc-status 0.
      expect(r.data).toEqual(
        Buffer.concat([grpcFrame(Buffer.from([0x08, 0x01])), grpcFrame(Buffer.from([0x08, 0x02]))]),
      );
      expect(r.trailers).toEqual({ 'grpc-status': '0' });
      await c.waitClosed();
      await closing;
    } finally {
      await s.close().catch(() => {});
    }
  });
});

describe('h2c: extensions, GOAWAY and drain', () => {
  it('unknown frame types (0xfa) and unknown SETTINGS outside a header block are ignored (§4.1, §5.5, §6.5.2)', async () => {
    const c = await open();
    c.send(
      frame(0xfa, 0xff, 0, Buffer.from('extension')),
      frame(0xfa, 0, 1, Buffer.alloc(64)),
      frame(0xfa, 0, 0x7fff_ffff, Buffer.alloc(0)),
      settings([[0x99, 12_345]]),
      // A well-formed PRIORITY on an idle stream is allowed and means nothing.
      frame(T.PRIORITY, 0, 1, Buffer.from([0, 0, 0, 0, 15])),
    );
    await answersCheck(c, 1);
    expect(c.frames.filter((f) => f.type === T.SETTINGS && f.flags === F.ACK)).toHaveLength(2);
    expect(goAways(c)).toEqual([]);
  });

  it('a peer GOAWAY: the server answers GOAWAY(NO_ERROR), finishes the streams in flight, then closes', async () => {
    const c = await open();
    const req = encodeReq(
      { ...mcp('fs.read'), path: '/gate/peer-goaway' },
      id.mint({ scope: ['fs.read'] }).token,
    );
    c.send(unaryCall(1, req));
    await gates.reached('peer-goaway');
    c.send(goAway(0, E.NO_ERROR));
    expect(await c.goAway()).toEqual({ lastStream: 1, code: E.NO_ERROR });
    await sleep(50);
    expect(c.closed).toBe(false);
    gates.release('peer-goaway');
    const r = await c.response(1);
    expect([r.headers?.[':status'], r.grpcStatus]).toEqual(['200', '0']);
    expect(decodeRes(r.data).httpResponse.case).toBe('okResponse');
    await c.waitClosed();
  });

  it('a peer GOAWAY with nothing in flight: GOAWAY(NO_ERROR, last 0) and the socket closes', async () => {
    const c = await open();
    c.send(goAway(0, E.NO_ERROR));
    expect(await c.goAway()).toEqual({ lastStream: 0, code: E.NO_ERROR });
    await c.waitClosed();
  });

  it('close(): GOAWAY(NO_ERROR) at once, new streams refused, the slow Check in flight still answered, then the socket ends', async () => {
    const own = new Gates();
    const s = await startAuthzServer({
      listen: '127.0.0.1:0',
      check: testCheck(own),
      transport: 'h2c',
      drainMs: 3000,
    });
    try {
      const c = await open(undefined, s);
      const req = encodeReq(
        { ...mcp('fs.read'), path: '/gate/drain' },
        id.mint({ scope: ['fs.read'] }).token,
      );
      c.send(unaryCall(1, req));
      await own.reached('drain');
      let closed = false;
      const closing = s.close().then(() => {
        closed = true;
      });
      expect(await c.goAway()).toEqual({ lastStream: 1, code: E.NO_ERROR });
      // A stream opened after GOAWAY is refused, not run (§6.8).
      c.send(unaryCall(3, encodeReq()));
      expect((await c.response(3)).rst).toBe(E.REFUSED_STREAM);
      expect(closed).toBe(false);
      own.release('drain');
      const r = await c.response(1);
      expect([r.headers?.[':status'], r.grpcStatus]).toEqual(['200', '0']);
      expect(decodeRes(r.data).httpResponse.case).toBe('okResponse');
      await c.waitClosed();
      await closing;
      expect(closed).toBe(true);
    } finally {
      own.releaseAll();
      await s.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('h2c: idle connections and the preface deadline', () => {
  const IDLE_MS = 300;
  let idle: AuthzServer;
  const own = new Gates();
  beforeAll(async () => {
    idle = await startAuthzServer({
      listen: '127.0.0.1:0',
      check: testCheck(own),
      transport: 'h2c',
      idleTimeoutMs: IDLE_MS,
    });
  });
  afterAll(async () => {
    own.releaseAll();
    await idle.close();
  });

  /** All GOAWAYs received, in order. */
  const goAwayList = (c: RawH2) =>
    goAways(c).map((f) => ({
      lastStream: f.payload.readUInt32BE(0) & 0x7fff_ffff,
      code: f.payload.readUInt32BE(4),
    }));
  const pingOf = (c: RawH2) =>
    c.frame((f) => f.type === T.PING && (f.flags & F.ACK) === 0, IDLE_MS + 1000, 'PING');

  it('no call for idleTimeoutMs: GOAWAY(NO_ERROR, 2³¹−1) and a PING; at its ACK the final GOAWAY, then close', async () => {
    const c = await open(undefined, idle);
    await answersCheck(c, 1);
    const t0 = performance.now();
    expect(await c.goAway(IDLE_MS + 1000)).toEqual({ lastStream: 0x7fff_ffff, code: E.NO_ERROR });
    // Not before the timeout (the sweep is 50 ms: at most one late).
    expect(performance.now() - t0).toBeGreaterThanOrEqual(IDLE_MS - 60);
    const ping = await pingOf(c);
    // A call the client started before it saw the GOAWAY crosses it: still served, not refused (§6.8).
    c.send(unaryCall(3, encodeReq()));
    expectDeny(await c.response(3), 16);
    c.send(frame(T.PING, F.ACK, 0, ping.payload));
    await c.waitClosed();
    expect(goAwayList(c)).toEqual([
      { lastStream: 0x7fff_ffff, code: E.NO_ERROR },
      { lastStream: 3, code: E.NO_ERROR },
    ]);
    await stillServing(idle);
  });

  it('a client that never ACKs the PING is drained a second later', async () => {
    const c = await open(undefined, idle);
    await answersCheck(c, 1);
    await pingOf(c);
    const t0 = performance.now();
    await c.waitClosed(3000);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(900);
    expect(goAwayList(c)).toEqual([
      { lastStream: 0x7fff_ffff, code: E.NO_ERROR },
      { lastStream: 1, code: E.NO_ERROR },
    ]);
  });

  it('calls keep it open: one every 100 ms for 3 × the timeout, no GOAWAY', async () => {
    const c = await open(undefined, idle);
    for (let i = 0; i < 9; i++) {
      await answersCheck(c, 1 + 2 * i);
      await sleep(100);
    }
    expect(goAways(c)).toEqual([]);
    expect(c.closed).toBe(false);
  });

  it('a call in flight is not idleness: a Check held 3 × the timeout is answered, then the timeout runs', async () => {
    const c = await open(undefined, idle);
    c.send(
      unaryCall(
        1,
        encodeReq({ ...mcp('fs.read'), path: '/gate/held' }, id.mint({ scope: ['fs.read'] }).token),
      ),
    );
    await own.reached('held');
    await sleep(IDLE_MS * 3);
    expect(goAways(c)).toEqual([]);
    own.release('held');
    const r = await c.response(1);
    expect([r.headers?.[':status'], r.grpcStatus]).toEqual(['200', '0']);
    expect(decodeRes(r.data).httpResponse.case).toBe('okResponse');
    expect(await c.goAway(IDLE_MS + 1000)).toEqual({ lastStream: 0x7fff_ffff, code: E.NO_ERROR });
    c.send(frame(T.PING, F.ACK, 0, (await pingOf(c)).payload));
    await c.waitClosed();
  });

  it('a connection that never sends the preface and SETTINGS is closed after 10 s; one that did stays', async () => {
    // Fake interval and clock for the server's sweep only; sockets and the client's waits stay real.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance'] });
    const s = await startAuthzServer({ listen: '127.0.0.1:0', check: testCheck(own), transport: 'h2c' });
    try {
      const silent = await open({ preface: false, settings: null }, s);
      const half = await open({ settings: null }, s); // the preface alone is not enough
      const client = await open(undefined, s);
      await answersCheck(client, 1);
      await silent.frame((f) => f.type === T.SETTINGS, 2000, "the server's SETTINGS");
      vi.advanceTimersByTime(9_900);
      await sleep(50);
      expect([silent.closed, half.closed, client.closed]).toEqual([false, false, false]);
      vi.advanceTimersByTime(200);
      await silent.waitClosed();
      await half.waitClosed();
      // No idle timeout on this server: the real client keeps its connection however long it waits.
      vi.advanceTimersByTime(3_600_000);
      await sleep(50);
      expect(client.closed).toBe(false);
      await answersCheck(client, 3);
    } finally {
      vi.useRealTimers();
      await s.close();
    }
  });
});

describe('h2c: random frame sequences', () => {
  const streamId = fc.oneof(
    fc.constant(0),
    fc.constant(1),
    fc.constant(3),
    fc.integer({ min: 0, max: 12 }),
    fc.constant(0x7fff_ffff),
  );
  const anyFrame = fc
    .record({
      type: fc.integer({ min: 0, max: 10 }),
      flags: fc.oneof(
        fc.constant(0),
        fc.constantFrom(0x1, 0x4, 0x5, 0x8, 0x20, 0x2d),
        fc.integer({ min: 0, max: 255 }),
      ),
      stream: streamId,
      payload: fc.uint8Array({ maxLength: 64 }),
    })
    .map((f) => frame(f.type, f.flags, f.stream, f.payload));
  const oddStream = fc.integer({ min: 0, max: 6 }).map((k) => 2 * k + 1);
  const step = fc.oneof(
    { weight: 6, arbitrary: anyFrame },
    // Well-formed pieces, so the random frames meet streams that are open, answered, blocked.
    { weight: 2, arbitrary: oddStream.map((s) => unaryCall(s, encodeReq())) },
    { weight: 1, arbitrary: oddStream.map((s) => unaryCall(s, encodeReq({ path: '/big/3000' }))) },
    { weight: 1, arbitrary: oddStream.map((s) => opened(s)) },
    {
      weight: 1,
      arbitrary: fc
        .array(fc.tuple(fc.integer({ min: 1, max: 7 }), fc.nat({ max: 0xffff_ffff })), { maxLength: 3 })
        .map((pairs) => settings(pairs)),
    },
    {
      weight: 1,
      arbitrary: fc
        .array(fc.tuple(fc.constant(S.INITIAL_WINDOW_SIZE), fc.integer({ min: 0, max: 100 })), {
          minLength: 1,
          maxLength: 1,
        })
        .map((pairs) => settings(pairs)),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.oneof(fc.constant(0), oddStream), fc.integer({ min: 0, max: 5000 }))
        .map(([s, n]) => windowUpdate(s, n)),
    },
  );

  it('after a valid preface + SETTINGS: never a crash, never an allow, and the server keeps answering', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
        const c = await open();
        try {
          c.send(...steps);
          // Processed once our PING comes back, or the server closed the connection.
          const tag = Buffer.from('propping');
          c.send(frame(T.PING, 0, 0, tag));
          await c.until(
            () =>
              c.closed || c.frames.some((f) => f.type === T.PING && f.payload.equals(tag)) ? true : undefined,
            2000,
            'PING ACK or close',
          );
          await sleep(5);
          expect(c.parseError).toBeUndefined();
          // No request carries a token: any answered Check is a deny.
          const streams = new Set(c.frames.filter((f) => f.stream !== 0).map((f) => f.stream));
          for (const s of streams) {
            const r = c.reply(s);
            if (r.grpcStatus === '0' && r.data.length > 0) {
              const res = fromBinary(CheckResponseSchema, r.data.subarray(5));
              expect(res.httpResponse.case).not.toBe('okResponse');
              expect(res.status?.code).not.toBe(0);
            }
          }
        } finally {
          c.close();
        }
        expect(crashes).toEqual([]);
        await stillServing();
      }),
      { numRuns: 150 },
    );
  });
});
