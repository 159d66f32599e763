/**
 * The h2c transport (src/authz/h2c/) against hostile gRPC framing from a raw node:http2 client: every bad call
 * ends with a gRPC error status (or the HTTP error the gRPC spec names), never an allow, and the server keeps
 * answering. Connection- and stream-level HTTP/2 rules that node:http2 would never break are in
 * h2c-protocol.test.ts.
 */
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { type ClientHttp2Session, connect, constants, type OutgoingHttpHeaders } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CheckRequestSchema,
  type CheckResponse,
  CheckResponseSchema,
} from '../../gen/envoy/service/auth/v3/external_auth_pb.js';
import type { CheckFn } from '../../src/authz/check.js';
import { frameMessage, parseGrpcTimeout, percentEncode } from '../../src/authz/h2c/grpc-frame.js';
import { type AuthzServer, startAuthzServer } from '../../src/authz/index.js';
import { loadConfig } from '../../src/config/index.js';
import { frozenClock } from '../../src/lib/clock.js';
import { checkFromConfig } from '../../src/serve/check-from-config.js';
import { authzClient, callCheck } from '../support/authz-client.js';
import { checkRequest, type RequestParts, toolsCall } from '../support/check-request.js';
import { agentId, testIdentity } from '../support/identity.js';
import { memorySink } from '../support/memory-sink.js';

const CHECK = '/envoy.service.auth.v3.Authorization/Check';
const HEALTH = '/grpc.health.v1.Health/Check';
const encodeReq = (p: RequestParts = {}, token?: string): Buffer =>
  Buffer.from(toBinary(CheckRequestSchema, create(CheckRequestSchema, checkRequest(p, token))));
const decodeRes = (b: Buffer): CheckResponse => fromBinary(CheckResponseSchema, b);
const mcp = (name: string): RequestParts => ({
  body: JSON.stringify(toolsCall(name)),
  headers: { 'content-type': 'application/json' },
});

const clock = frozenClock(1_767_225_600_000);
const id = testIdentity(clock);
let server: AuthzServer;
let session: ClientHttp2Session;
const MAX = 64 * 1024;

/** The real decision pipeline (as in server.test.ts). */
function realCheck(): CheckFn {
  const config = loadConfig({ env: {}, overrides: { agent: { spiffe_id: agentId('local') } } });
  return checkFromConfig(config, { trust: id.trust, ledger: memorySink(), clock }).check;
}

interface RawReply {
  httpStatus: number | undefined;
  grpcStatus: string | undefined;
  grpcMessage: string | undefined;
  data: Buffer;
  reset?: number;
}

/** One raw request; `body` is written as separate chunks, `end` closes our side (default true). */
async function raw(
  s: ClientHttp2Session,
  headers: OutgoingHttpHeaders,
  body: Buffer[] = [],
  end = true,
): Promise<RawReply> {
  const req = s.request(
    { ':method': 'POST', ':path': CHECK, 'content-type': 'application/grpc', te: 'trailers', ...headers },
    { endStream: false },
  );
  const reply: RawReply = {
    httpStatus: undefined,
    grpcStatus: undefined,
    grpcMessage: undefined,
    data: Buffer.alloc(0),
  };
  const chunks: Buffer[] = [];
  req.on('response', (h) => {
    reply.httpStatus = h[':status'];
    if (h['grpc-status'] !== undefined) reply.grpcStatus = String(h['grpc-status']);
    if (h['grpc-message'] !== undefined) reply.grpcMessage = String(h['grpc-message']);
  });
  req.on('trailers', (t) => {
    reply.grpcStatus = String(t['grpc-status']);
    if (t['grpc-message'] !== undefined) reply.grpcMessage = String(t['grpc-message']);
  });
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('error', () => {});
  for (const b of body) req.write(b);
  if (end) req.end();
  await new Promise((r) => req.once('close', r));
  reply.data = Buffer.concat(chunks);
  if (req.rstCode !== constants.NGHTTP2_NO_ERROR) reply.reset = req.rstCode;
  return reply;
}

/** A Check with one `x-big` header of `bytes` on a session of its own: the HTTP status and RST code seen. */
async function bigHeader(bytes: number): Promise<{ status: number | undefined; rstCode: number }> {
  const s = fresh();
  try {
    const req = s.request({
      ':method': 'POST',
      ':path': CHECK,
      'content-type': 'application/grpc',
      'x-big': 'a'.repeat(bytes),
    });
    req.on('error', () => {});
    let status: number | undefined;
    req.on('response', (h) => {
      status = h[':status'];
    });
    // Not events.once: it would reject on the stream's 'error'.
    const closed = new Promise((r) => req.once('close', r));
    req.end(frameMessage(Buffer.alloc(0)));
    await closed;
    return { status, rstCode: req.rstCode };
  } finally {
    s.destroy();
  }
}

function fresh(address = server.address): ClientHttp2Session {
  const s = connect(`http://${address}`);
  s.on('error', () => {});
  return s;
}

/** The server still answers a well-formed health Check over a fresh connection. */
async function stillServing(address = server.address): Promise<void> {
  const s = fresh(address);
  try {
    const r = await raw(s, { ':path': HEALTH }, [frameMessage(Buffer.alloc(0))]);
    expect([r.httpStatus, r.grpcStatus]).toEqual([200, '0']);
    // HealthCheckResponse{status: SERVING(1)} = field 1 varint 1.
    expect(r.data).toEqual(frameMessage(Buffer.from([0x08, 0x01])));
  } finally {
    s.close();
  }
}

beforeAll(async () => {
  server = await startAuthzServer({
    listen: '127.0.0.1:0',
    check: realCheck(),
    maxMessageBytes: MAX,
    transport: 'h2c',
  });
  session = fresh();
});
afterAll(async () => {
  session?.close();
  await server?.close();
});

describe('h2c transport: well-formed calls', () => {
  it('a valid Check over raw HTTP/2 gets headers, one framed CheckResponse and grpc-status 0 trailers', async () => {
    const { token } = id.mint({ scope: ['fs.read'] });
    const r = await raw(session, { 'grpc-timeout': '5S' }, [frameMessage(encodeReq(mcp('fs.read'), token))]);
    expect([r.httpStatus, r.grpcStatus, r.reset]).toEqual([200, '0', undefined]);
    expect(r.data[0]).toBe(0);
    expect(r.data.readUInt32BE(1)).toBe(r.data.length - 5);
    const res = decodeRes(r.data.subarray(5));
    expect([res.status?.code, res.httpResponse.case]).toEqual([0, 'okResponse']);
  });

  it('a request split into 1-byte DATA chunks is reassembled', async () => {
    const framed = frameMessage(encodeReq({ path: '/mcp' }));
    const chunks = [...framed].map((b) => Buffer.from([b]));
    const r = await raw(session, { 'content-type': 'application/grpc+proto' }, chunks);
    expect(r.grpcStatus).toBe('0');
    const res = decodeRes(r.data.subarray(5));
    expect([res.status?.code, res.httpResponse.case]).toEqual([16, 'deniedResponse']);
  });

  it('grpc-message is percent-encoded; grpc-timeout parses every unit and rejects the malformed', () => {
    expect(percentEncode('plain text')).toBe('plain text');
    expect(percentEncode('100% ünï\n')).toBe('100%25 %C3%BCn%C3%AF%0A');
    expect([
      parseGrpcTimeout('2H'),
      parseGrpcTimeout('3M'),
      parseGrpcTimeout('5S'),
      parseGrpcTimeout('7m'),
    ]).toEqual([7_200_000, 180_000, 5000, 7]);
    expect(parseGrpcTimeout('1000u')).toBeCloseTo(1);
    expect(parseGrpcTimeout('1000000n')).toBeCloseTo(1);
    expect(parseGrpcTimeout('99999999S')).toBe(99_999_999_000);
    for (const bad of ['', '5', 'S', '123456789S', '-1S', '1.5S', '5s', '5 S', ' 5S', '5S '])
      expect(parseGrpcTimeout(bad)).toBeUndefined();
  });

  it('an unknown method gets its name percent-encoded in grpc-message', async () => {
    const r = await raw(session, { ':path': '/x.Y/%ü' }, [frameMessage(Buffer.alloc(0))]);
    expect([r.httpStatus, r.grpcStatus]).toEqual([200, '12']);
    // node:http2 sends the path's latin1 bytes; the server percent-encodes % and the UTF-8 of ü.
    expect(r.grpcMessage).toBe('unknown method /x.Y/%25%C3%BC');
  });
});

describe('h2c transport: hostile framing → an error status, the server stays up', () => {
  const prefix = (flag: number, len: number): Buffer => {
    const b = Buffer.alloc(5);
    b[0] = flag;
    b.writeUInt32BE(len, 1);
    return b;
  };
  const cases: [name: string, headers: OutgoingHttpHeaders, body: Buffer[], code: string][] = [
    ['garbage protobuf bytes in a well-framed message', {}, [frameMessage(Buffer.alloc(64, 0xff))], '13'],
    ['a truncated prefix (3 bytes)', {}, [Buffer.from([0, 0, 0])], '13'],
    ['a message shorter than its declared length', {}, [prefix(0, 100), Buffer.alloc(10)], '13'],
    ['a declared length over the cap', {}, [prefix(0, MAX + 1)], '8'],
    ['the largest declared length (4 GiB - 1)', {}, [prefix(0, 0xffffffff)], '8'],
    [
      'two messages on a unary call',
      {},
      [frameMessage(Buffer.alloc(0)), frameMessage(Buffer.alloc(0))],
      '13',
    ],
    ['trailing bytes after the message', {}, [frameMessage(Buffer.alloc(0)), Buffer.from([1])], '13'],
    ['zero messages', {}, [], '13'],
    ['the compressed flag without grpc-encoding', {}, [prefix(1, 0)], '13'],
    ['an undefined flag byte (0x80)', {}, [prefix(0x80, 0)], '13'],
    ['an unsupported grpc-encoding', { 'grpc-encoding': 'gzip' }, [frameMessage(Buffer.alloc(0))], '12'],
    [
      'an unknown method',
      { ':path': '/envoy.service.auth.v3.Authorization/Nope' },
      [frameMessage(Buffer.alloc(0))],
      '12',
    ],
    ['an unknown service', { ':path': '/x.Y/Z' }, [frameMessage(Buffer.alloc(0))], '12'],
    ['a malformed grpc-timeout', { 'grpc-timeout': 'soon' }, [frameMessage(Buffer.alloc(0))], '13'],
    [
      'an unknown health service',
      { ':path': HEALTH },
      [frameMessage(Buffer.from([0x0a, 0x03, 0x6e, 0x6f, 0x70]))],
      '5',
    ],
  ];
  it.each(cases.map(([name, headers, body, code]) => ({ name, headers, body, code })))(
    '$name → grpc-status $code',
    async ({ headers, body, code }) => {
      const r = await raw(session, headers, body);
      expect(r.httpStatus).toBe(200);
      expect(r.grpcStatus).toBe(code);
      expect(r.grpcMessage).toBeTruthy();
      expect(r.data.length).toBe(0);
      await stillServing();
    },
  );

  it('an over-cap length is refused before the body arrives (our side still open)', async () => {
    const r = await raw(session, {}, [prefix(0, MAX + 1)], false);
    expect(r.grpcStatus).toBe('8');
    expect(r.grpcMessage).toBe('request message larger than the limit');
    await stillServing();
  });

  it('wrong content-type → HTTP 415; GET → HTTP 405 with allow: POST (PROTOCOL-HTTP2: not a gRPC request)', async () => {
    const json = await raw(session, { 'content-type': 'application/json' }, [frameMessage(Buffer.alloc(0))]);
    expect([json.httpStatus, json.grpcStatus]).toEqual([415, undefined]);
    const grpcx = await raw(session, { 'content-type': 'application/grpcx' }, []);
    expect([grpcx.httpStatus, grpcx.grpcStatus]).toEqual([415, undefined]);
    const none = await raw(session, { 'content-type': undefined }, [frameMessage(Buffer.alloc(0))]);
    expect(none.httpStatus).toBe(415);
    const get = session.request({ ':method': 'GET', ':path': CHECK });
    get.on('error', () => {});
    const [h] = (await once(get, 'response')) as [Record<string, unknown>];
    expect([h[':status'], h.allow]).toEqual([405, 'POST']);
    get.close();
    await stillServing();
  });

  it('a header block over SETTINGS_MAX_HEADER_LIST_SIZE (16 KiB) → HTTP 431 on that stream only', async () => {
    const s = fresh();
    try {
      // 20 KiB: over the server's 16 KiB, under node's own 64 KiB send limit, so node:http2 sends it.
      const big = await raw(s, { 'x-big': 'a'.repeat(20 * 1024) }, [frameMessage(encodeReq({}))]);
      expect([big.httpStatus, big.grpcStatus]).toEqual([431, undefined]);
      // The same session (same HPACK state) still gets answers.
      const ok = await raw(s, {}, [frameMessage(encodeReq({}))]);
      expect([ok.httpStatus, ok.grpcStatus]).toEqual([200, '0']);
    } finally {
      s.close();
    }
    // 60 KiB: node:http2 sends it (HEADERS + CONTINUATION); a block over 2 × 16 KiB + 1 KiB is a CONTINUATION
    // flood to the server, which ends the connection with GOAWAY(ENHANCE_YOUR_CALM).
    const flood = await bigHeader(60 * 1024);
    expect(flood).toEqual({ status: undefined, rstCode: constants.NGHTTP2_ENHANCE_YOUR_CALM });
    // 200 KiB: node:http2 refuses to send it itself (its 64 KiB maxSendHeaderBlockLength): nothing reaches us.
    const refused = await bigHeader(200 * 1024);
    expect(refused).toEqual({ status: undefined, rstCode: constants.NGHTTP2_REFUSED_STREAM });
    await stillServing();
  });

  it('a client RST mid-request and a cancel while the Check is pending are absorbed', async () => {
    let entered!: () => void;
    const inCheck = new Promise<void>((r) => {
      entered = r;
    });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const real = realCheck();
    const s2 = await startAuthzServer({
      listen: '127.0.0.1:0',
      transport: 'h2c',
      check: async (req) => {
        entered();
        await gate;
        return real(req);
      },
    });
    const s = fresh(s2.address);
    try {
      const a = s.request({ ':method': 'POST', ':path': CHECK, 'content-type': 'application/grpc' });
      a.on('error', () => {});
      const aClosed = new Promise((r) => a.once('close', r));
      a.write(prefix(0, 1000));
      a.write(Buffer.alloc(10));
      const b = s.request({ ':method': 'POST', ':path': CHECK, 'content-type': 'application/grpc' });
      b.on('error', () => {});
      const bClosed = new Promise((r) => b.once('close', r));
      let bAnswered = false;
      b.on('response', () => {
        bAnswered = true;
      });
      b.end(frameMessage(encodeReq({})));
      // a: reset while its body is incomplete; b: reset while its Check runs.
      a.close(constants.NGHTTP2_CANCEL);
      await inCheck;
      b.close(constants.NGHTTP2_CANCEL);
      await Promise.all([aClosed, bClosed]);
      expect([a.rstCode, b.rstCode]).toEqual([constants.NGHTTP2_CANCEL, constants.NGHTTP2_CANCEL]);
      release();
      // The late answer to b is dropped; the same session keeps working.
      const r = await raw(s, {}, [frameMessage(encodeReq({}))]);
      expect([r.httpStatus, r.grpcStatus]).toEqual([200, '0']);
      expect(bAnswered).toBe(false);
      await stillServing(s2.address);
    } finally {
      release();
      s.destroy();
      await s2.close();
    }
    await stillServing();
  });

  it('random bodies (framed or not, random DATA splits) never allow and never take the server down', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }).map((b) => [Buffer.from(b)]),
          fc.uint8Array({ maxLength: 200 }).map((b) => [frameMessage(b)]),
          fc.tuple(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 1, max: 7 })).map(([b, n]) => {
            const f = frameMessage(b);
            return [f.subarray(0, n), f.subarray(n)];
          }),
        ),
        async (body) => {
          const r = await raw(session, {}, body);
          expect(r.httpStatus).toBe(200);
          if (r.grpcStatus === '0') {
            // Decodable by chance: then it is a CheckResponse carrying a deny (no token in random bytes).
            const res = decodeRes(r.data.subarray(5));
            expect(res.status?.code).not.toBe(0);
            expect(res.httpResponse.case).toBe('deniedResponse');
          } else expect(['8', '13']).toContain(r.grpcStatus);
        },
      ),
      { numRuns: 200 },
    );
    await stillServing();
  });

  it('non-HTTP/2 bytes on the socket (garbage, HTTP/1.1, a bad frame after the preface) are dropped; the server stays up', async () => {
    for (const junk of [
      '\x00\xff garbage\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
      'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\xff\xff\xff\xff\xff\xff\xff\xff\xff',
    ]) {
      const sock = netConnect(server.port, '127.0.0.1');
      sock.on('error', () => {});
      sock.on('data', () => {});
      await once(sock, 'connect');
      // Written without ending our side: the server must close the connection itself.
      sock.write(Buffer.from(junk, 'latin1'));
      await once(sock, 'close');
    }
    await stillServing();
  });
});

describe('h2c transport: deadlines and unix sockets', () => {
  it('grpc-timeout shorter than a slow Check → DEADLINE_EXCEEDED (4); the late answer is dropped', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const real = realCheck();
    const slow: CheckFn = async (req) => {
      await gate;
      return real(req);
    };
    const s2 = await startAuthzServer({ listen: '127.0.0.1:0', check: slow, transport: 'h2c' });
    const c = fresh(s2.address);
    try {
      const t0 = performance.now();
      const r = await raw(c, { 'grpc-timeout': '50m' }, [frameMessage(encodeReq({}))]);
      const took = performance.now() - t0;
      expect([r.httpStatus, r.grpcStatus, r.grpcMessage]).toEqual([200, '4', 'deadline exceeded']);
      expect(r.data.length).toBe(0);
      // 50 ms deadline, swept every 50 ms: well under a second, and not before the deadline.
      expect(took).toBeGreaterThanOrEqual(45);
      expect(took).toBeLessThan(1000);
      release();
      await new Promise((res) => setTimeout(res, 20));
      await stillServing(s2.address);
    } finally {
      release();
      c.close();
      await s2.close();
    }
  });

  it('listens on unix:/path and answers a grpc-js client there', async () => {
    const path = join(tmpdir(), `sigil-h2c-${process.pid}.sock`);
    const s2 = await startAuthzServer({ listen: `unix:${path}`, check: realCheck(), transport: 'h2c' });
    expect([s2.address, s2.port]).toEqual([`unix:${path}`, 0]);
    const client = authzClient(s2.address);
    try {
      const res = await callCheck(client, checkRequest({}));
      expect([res.status?.code, res.httpResponse.case]).toEqual([16, 'deniedResponse']);
      const { token } = id.mint({ scope: ['fs.read'] });
      const ok = await callCheck(client, checkRequest(mcp('fs.read'), token));
      expect([ok.status?.code, ok.httpResponse.case]).toEqual([0, 'okResponse']);
    } finally {
      client.close();
      await s2.close();
      rmSync(path, { force: true });
    }
  });
});
