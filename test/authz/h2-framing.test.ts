/**
 * The h2 transport against hostile gRPC framing from a raw node:http2 client: every bad call ends with a gRPC
 * error status (or the HTTP error the gRPC spec names), never an allow, and the server keeps answering.
 */
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { type ClientHttp2Session, connect, constants, type OutgoingHttpHeaders } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, type ServiceClientConstructor } from '@grpc/grpc-js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckFn } from '../../src/authz/check.js';
import { frameMessage, parseGrpcTimeout, percentEncode } from '../../src/authz/h2/lib/grpc-frame.js';
import { startH2AuthzServer } from '../../src/authz/h2/start-h2-server.js';
import { authzProtos, checkFromConfig } from '../../src/authz/index.js';
import type { AuthzServer } from '../../src/authz/server.js';
import type { CheckRequest, CheckResponse } from '../../src/authz/types.js';
import { loadConfig } from '../../src/config/index.js';
import { frozenClock } from '../../src/lib/clock.js';
import { checkRequest } from '../support/check-request.js';
import { agentId, testIdentity } from '../support/identity.js';
import { memorySink } from '../support/memory-sink.js';

const CHECK = '/envoy.service.auth.v3.Authorization/Check';
const HEALTH = '/grpc.health.v1.Health/Check';
function authzCtor(): ServiceClientConstructor {
  let node: unknown = authzProtos().grpc;
  for (const p of 'envoy.service.auth.v3.Authorization'.split('.'))
    node = (node as Record<string, unknown>)[p];
  return node as ServiceClientConstructor;
}
const checkDef = authzCtor().service.Check!;
const encodeReq = checkDef.requestSerialize as (r: CheckRequest) => Buffer;
const decodeRes = checkDef.responseDeserialize as (b: Buffer) => CheckResponse;

const clock = frozenClock(1_767_225_600_000);
const id = testIdentity(clock);
let server: AuthzServer;
let session: ClientHttp2Session;
const MAX = 64 * 1024;

interface RawReply {
  httpStatus: number | undefined;
  grpcStatus: string | undefined;
  grpcMessage: string | undefined;
  data: Buffer;
  reset?: number;
}

/** One raw request; `send` writes the body (chunks), `end` closes our side (default true). */
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

/** The server still answers a well-formed health Check over a fresh connection. */
async function stillServing(): Promise<void> {
  const s = connect(`http://${server.address}`);
  s.on('error', () => {});
  try {
    const r = await raw(s, { ':path': HEALTH }, [frameMessage(Buffer.alloc(0))]);
    expect([r.httpStatus, r.grpcStatus]).toEqual([200, '0']);
    // HealthCheckResponse{status: SERVING(1)} = field 1 varint 1.
    expect(r.data).toEqual(frameMessage(Buffer.from([0x08, 0x01])));
  } finally {
    s.close();
  }
}

function fresh(): ClientHttp2Session {
  const s = connect(`http://${server.address}`);
  s.on('error', () => {});
  return s;
}

beforeAll(async () => {
  const config = loadConfig({ env: {}, overrides: { agent: { spiffe_id: agentId('local') } } });
  const { check } = checkFromConfig(config, { trust: id.trust, ledger: memorySink(), clock });
  server = await startH2AuthzServer({ listen: '127.0.0.1:0', check, maxMessageBytes: MAX });
  session = fresh();
});
afterAll(async () => {
  session?.close();
  await server?.close();
});

describe('h2 transport: well-formed calls', () => {
  it('a valid Check over raw HTTP/2 gets headers, one framed CheckResponse and grpc-status 0 trailers', async () => {
    const { token } = id.mint({ scope: ['fs.read'] });
    const req = checkRequest({ path: '/tools/fs.read', headers: { 'x-sigil-tool': 'fs.read' } }, token);
    const r = await raw(session, { 'grpc-timeout': '5S' }, [frameMessage(encodeReq(req))]);
    expect([r.httpStatus, r.grpcStatus]).toEqual([200, '0']);
    expect(r.data[0]).toBe(0);
    expect(r.data.readUInt32BE(1)).toBe(r.data.length - 5);
    const res = decodeRes(r.data.subarray(5));
    expect([res.status.code, res.httpResponse]).toEqual([0, 'okResponse']);
  });

  it('a request split into 1-byte DATA chunks is reassembled', async () => {
    const framed = frameMessage(encodeReq(checkRequest({ path: '/mcp' })));
    const chunks = [...framed].map((b) => Buffer.from([b]));
    const r = await raw(session, { 'content-type': 'application/grpc+proto' }, chunks);
    expect(r.grpcStatus).toBe('0');
    expect(decodeRes(r.data.subarray(5)).status.code).toBe(16);
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
    for (const bad of ['', '5', 'S', '123456789S', '-1S', '1.5S', '5s', '5 S'])
      expect(parseGrpcTimeout(bad)).toBeUndefined();
  });
});

describe('h2 transport: hostile framing → an error status, the server stays up', () => {
  const prefix = (flag: number, len: number): Buffer => {
    const b = Buffer.alloc(5);
    b[0] = flag;
    b.writeUInt32BE(len, 1);
    return b;
  };
  const cases: [string, OutgoingHttpHeaders, Buffer[], string][] = [
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
  it.each(cases)('%s → grpc-status %$3', async (_n, headers, body, code) => {
    const r = await raw(session, headers, body);
    expect(r.httpStatus).toBe(200);
    expect(r.grpcStatus).toBe(code);
    expect(r.grpcMessage).toBeTruthy();
    expect(r.data.length).toBe(0);
    await stillServing();
  });

  it('an over-cap length is refused before the body arrives (our side still open)', async () => {
    const r = await raw(session, {}, [prefix(0, MAX + 1)], false);
    expect(r.grpcStatus).toBe('8');
  });

  it('wrong content-type → HTTP 415; GET → HTTP 405 (PROTOCOL-HTTP2: not a gRPC request)', async () => {
    expect(
      (await raw(session, { 'content-type': 'application/json' }, [frameMessage(Buffer.alloc(0))]))
        .httpStatus,
    ).toBe(415);
    expect((await raw(session, { 'content-type': 'application/grpcx' }, [])).httpStatus).toBe(415);
    const get = session.request({ ':method': 'GET', ':path': CHECK });
    get.on('error', () => {});
    const [h] = (await once(get, 'response')) as [Record<string, unknown>];
    expect(h[':status']).toBe(405);
    get.close();
    await stillServing();
  });

  it('a header block over the limit is refused without taking the server down', async () => {
    const s = fresh();
    const req = s.request({
      ':method': 'POST',
      ':path': CHECK,
      'content-type': 'application/grpc',
      'x-big': 'a'.repeat(200 * 1024),
    });
    req.on('error', () => {});
    req.end(frameMessage(Buffer.alloc(0)));
    await new Promise((r) => req.once('close', r));
    // Refused: RST_STREAM or the session torn down; no grpc-status 0 answer either way.
    expect(req.rstCode).not.toBe(constants.NGHTTP2_NO_ERROR);
    s.destroy();
    await stillServing();
  });

  it('a client RST mid-request and a cancel while the Check is pending are absorbed', async () => {
    const s = fresh();
    const a = s.request({ ':method': 'POST', ':path': CHECK, 'content-type': 'application/grpc' });
    a.on('error', () => {});
    a.write(prefix(0, 1000));
    a.write(Buffer.alloc(10));
    a.close(constants.NGHTTP2_CANCEL);
    const b = s.request({ ':method': 'POST', ':path': CHECK, 'content-type': 'application/grpc' });
    b.on('error', () => {});
    b.end(frameMessage(encodeReq(checkRequest({ path: '/mcp' }))));
    b.close(constants.NGHTTP2_CANCEL);
    await Promise.all([a, b].map((x) => new Promise((r) => x.once('close', r))));
    s.destroy();
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
            expect(decodeRes(r.data.subarray(5)).status.code).not.toBe(0);
          } else expect(['8', '13']).toContain(r.grpcStatus);
        },
      ),
      { numRuns: 200 },
    );
    await stillServing();
  });

  it('non-HTTP/2 bytes on the socket (garbage, HTTP/1.1) are dropped; the server stays up', async () => {
    const [host, port] = [server.address.slice(0, server.address.lastIndexOf(':')), server.port];
    for (const junk of [
      '\x00\xff garbage\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
      'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\xff\xff\xff\xff\xff\xff\xff\xff\xff',
    ]) {
      const sock = netConnect(port, host);
      sock.on('error', () => {});
      sock.on('data', () => {});
      await once(sock, 'connect');
      sock.end(Buffer.from(junk, 'latin1'));
      await once(sock, 'close');
    }
    await stillServing();
  });
});

describe('h2 transport: deadlines and unix sockets', () => {
  it('grpc-timeout shorter than a slow Check → DEADLINE_EXCEEDED (4); the late answer is dropped', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const config = loadConfig({ env: {}, overrides: { agent: { spiffe_id: agentId('local') } } });
    const { check } = checkFromConfig(config, { trust: id.trust, ledger: memorySink(), clock });
    const slow: CheckFn = async (req) => {
      await gate;
      return check(req);
    };
    const s2 = await startH2AuthzServer({ listen: '127.0.0.1:0', check: slow });
    const c = connect(`http://${s2.address}`);
    c.on('error', () => {});
    const r = await raw(c, { 'grpc-timeout': '50m' }, [frameMessage(encodeReq(checkRequest({})))]);
    expect(r.grpcStatus).toBe('4');
    release();
    await new Promise((res) => setTimeout(res, 20));
    c.close();
    await s2.close();
  });

  it('listens on unix:/path and answers a grpc-js client there', async () => {
    const path = join(tmpdir(), `sigil-h2-${process.pid}.sock`);
    const config = loadConfig({ env: {}, overrides: { agent: { spiffe_id: agentId('local') } } });
    const { check } = checkFromConfig(config, { trust: id.trust, ledger: memorySink(), clock });
    const s2 = await startH2AuthzServer({ listen: `unix:${path}`, check });
    expect([s2.address, s2.port]).toEqual([`unix:${path}`, 0]);
    const Ctor = authzCtor();
    const client = new Ctor(s2.address, credentials.createInsecure()) as unknown as {
      Check: (r: CheckRequest, cb: (e: Error | null, r: CheckResponse) => void) => void;
      close: () => void;
    };
    const res = await new Promise<CheckResponse>((ok, ko) =>
      client.Check(checkRequest({}), (e, r) => (e ? ko(e) : ok(r))),
    );
    expect(res.status.code).toBe(16);
    client.close();
    await s2.close();
    rmSync(path, { force: true });
  });
});
