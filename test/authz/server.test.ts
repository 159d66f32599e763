/**
 * The gRPC surface over a real socket: Authorization/Check with the hand-written protos, the health
 * service, hostile CheckRequests (every one a successful RPC carrying a deny, never a crash), and drain.
 */
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import type { Client } from '@grpc/grpc-js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  CheckRequest,
  CheckRequestSchema,
  CheckResponse,
} from '../../gen/envoy/service/auth/v3/external_auth_pb.js';
import { StatusCode } from '../../gen/envoy/type/v3/http_status_pb.js';
import {
  HealthCheckRequestSchema,
  type HealthCheckResponse,
  HealthCheckResponse_ServingStatus as Serving,
} from '../../gen/grpc/health/v1/health_pb.js';
import type { CheckFn } from '../../src/authz/check.js';
import { type AuthzServer, startAuthzServer } from '../../src/authz/index.js';
import { loadConfig } from '../../src/config/index.js';
import { frozenClock } from '../../src/lib/clock.js';
import { checkFromConfig } from '../../src/serve/check-from-config.js';
import { authzClient, callCheck, callHealth, healthClient } from '../support/authz-client.js';
import { checkRequest, deniedOf, headerRecord, okOf, toolsCall } from '../support/check-request.js';
import { agentId, testIdentity } from '../support/identity.js';
import { memorySink } from '../support/memory-sink.js';

const clock = frozenClock(1_767_225_600_000);
const id = testIdentity(clock);
const sink = memorySink();
let server: AuthzServer;
let authz: Client;
let health: Client;

const mcp = (name: string) => ({
  body: JSON.stringify(toolsCall(name)),
  headers: { 'content-type': 'application/json' },
});
const check = (req: MessageInitShape<typeof CheckRequestSchema>) => callCheck(authz, req);
const bodyCode = (r: CheckResponse) => (JSON.parse(deniedOf(r)!.body) as { code: string }).code;
const status = (s: Serving) => ({ status: s });
const healthOf = (r: HealthCheckResponse) => ({ status: r.status });

describe.each(['grpc-js', 'h2c'] as const)('authz gRPC server on %s', (transport) => {
  beforeAll(async () => {
    const config = loadConfig({ env: {}, overrides: { agent: { spiffe_id: agentId('local') } } });
    const { check } = checkFromConfig(config, { trust: id.trust, ledger: sink, clock });
    server = await startAuthzServer({ listen: '127.0.0.1:0', check, transport });
    authz = authzClient(server.address);
    health = healthClient(server.address);
  });
  afterAll(async () => {
    authz?.close();
    health?.close();
    await server?.close();
  });

  it('answers an allow over the wire with status OK and the identity headers', async () => {
    const { token } = id.mint({ scope: ['fs.read'] });
    const res = await check(checkRequest(mcp('fs.read'), token));
    expect(res.status!.code).toBe(0);
    expect(res.httpResponse.case).toBe('okResponse');
    const hdr = headerRecord(okOf(res)!.headers);
    expect(hdr['x-sigil-sub']).toBe(agentId('orchestrator'));
    expect(okOf(res)!.headersToRemove).toEqual(['authorization']);
  });

  it('a deny is a successful RPC: UNAUTHENTICATED (16) for 401, PERMISSION_DENIED (7) for 403, enum status on the wire', async () => {
    const r401 = await check(checkRequest(mcp('fs.read')));
    expect([r401.status!.code, deniedOf(r401)!.status!.code, bodyCode(r401)]).toEqual([
      16,
      StatusCode.Unauthorized,
      'AUTHZ_NO_TOKEN',
    ]);
    const { token } = id.mint({ scope: ['fs.read'] });
    const r403 = await check(checkRequest(mcp('fs.write'), token));
    expect([r403.status!.code, deniedOf(r403)!.status!.code, bodyCode(r403)]).toEqual([
      7,
      StatusCode.Forbidden,
      'AUTHZ_TOOL_NOT_IN_SCOPE',
    ]);
  });

  it('health: SERVING for "" and the Authorization service, NOT_FOUND for others', async () => {
    expect(healthOf(await callHealth(health, ''))).toEqual(status(Serving.SERVING));
    expect(healthOf(await callHealth(health, 'envoy.service.auth.v3.Authorization'))).toEqual(
      status(Serving.SERVING),
    );
    await expect(callHealth(health, 'nope')).rejects.toMatchObject({ code: 5 });
  });

  it.each([
    ['an empty CheckRequest', {}, 'AUTHZ_BAD_REQUEST'],
    ['no http attributes', { attributes: { request: {} } }, 'AUTHZ_BAD_REQUEST'],
    ['no method', { attributes: { request: { http: { path: '/mcp' } } } }, 'AUTHZ_BAD_REQUEST'],
    [
      'a dot-segment path',
      { attributes: { request: { http: { method: 'GET', path: '/a/../admin' } } } },
      'AUTHZ_BAD_REQUEST',
    ],
    [
      'an empty segment (a merged slash)',
      { attributes: { request: { http: { method: 'GET', path: '//tools/fs.delete' } } } },
      'AUTHZ_BAD_REQUEST',
    ],
    [
      'an encoded slash',
      { attributes: { request: { http: { method: 'GET', path: '/a%2Fb' } } } },
      'AUTHZ_BAD_REQUEST',
    ],
    [
      'a relative path',
      { attributes: { request: { http: { method: 'GET', path: 'mcp' } } } },
      'AUTHZ_BAD_REQUEST',
    ],
  ])('%s → deny %s', async (_n, req, code) => {
    const res = await check(req);
    expect(res.status!.code).not.toBe(0);
    expect(bodyCode(res)).toBe(code);
  });

  it('10 000 headers → 431 AUTHZ_HEADERS_TOO_LARGE', async () => {
    const headers: Record<string, string> = {};
    for (let i = 0; i < 10_000; i++) headers[`x-h${i}`] = 'v';
    const res = await check(checkRequest({ ...mcp('fs.read'), headers }));
    expect([deniedOf(res)!.status!.code, bodyCode(res)]).toEqual([
      StatusCode.RequestHeaderFieldsTooLarge,
      'AUTHZ_HEADERS_TOO_LARGE',
    ]);
  });

  it('a 1 MB header value → 431 AUTHZ_HEADERS_TOO_LARGE', async () => {
    const res = await check(
      checkRequest({ ...mcp('fs.read'), headers: { authorization: `Bearer ${'a'.repeat(1024 * 1024)}` } }),
    );
    expect(bodyCode(res)).toBe('AUTHZ_HEADERS_TOO_LARGE');
  });

  it('non-UTF-8 header bytes (encode_raw_headers) → 400 AUTHZ_INVALID_ENCODING', async () => {
    const req = {
      attributes: {
        request: {
          http: {
            method: 'POST',
            path: '/mcp',
            headerMap: {
              headers: [{ key: 'authorization', rawValue: Buffer.from([0x42, 0x65, 0xff, 0xfe]) }],
            },
          },
        },
      },
    };
    expect(bodyCode(await check(req))).toBe('AUTHZ_INVALID_ENCODING');
  });

  it('non-UTF-8 bytes in a string header field never allow', async () => {
    const { token } = id.mint({ scope: ['fs.read'] });
    const res = await check(
      checkRequest({ ...mcp('fs.read'), headers: { authorization: `Bearer ${token}\uFFFD` } }),
    );
    expect(bodyCode(res)).toBe('AUTHZ_BAD_AUTH_HEADER');
  });

  it('random CheckRequests never crash the server and never allow without a token', async () => {
    const str = fc.string({ maxLength: 40 });
    const arb = fc.record(
      {
        method: fc.oneof(fc.constantFrom('GET', 'POST', 'DELETE'), str),
        path: fc.oneof(fc.constantFrom('/mcp', '/tools/fs.read', '/healthz'), str),
        headers: fc.dictionary(fc.stringMatching(/^[a-z-]{1,12}$/), str, { maxKeys: 8 }),
        body: fc.oneof(str, fc.json({ maxDepth: 3 }), fc.constant(JSON.stringify(toolsCall('fs.read')))),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(arb, async (p) => {
        const res = await check({ attributes: { request: { http: p } } });
        expect(res.status!.code).not.toBe(0);
        expect(deniedOf(res)).toBeDefined();
      }),
      { numRuns: 150 },
    );
  });

  it('health Watch streams SERVING, then NOT_SERVING when the server starts draining', async () => {
    const config = loadConfig({ env: {}, overrides: { agent: { spiffe_id: agentId('local') } } });
    const { check: fn } = checkFromConfig(config, { trust: id.trust, ledger: memorySink(), clock });
    const s = await startAuthzServer({ listen: '127.0.0.1:0', check: fn, drainMs: 500, transport });
    const c = healthClient(s.address);
    const seen: Serving[] = [];
    const stream = (c as unknown as { Watch: (r: object) => NodeJS.EventEmitter }).Watch(
      create(HealthCheckRequestSchema, { service: '' }),
    );
    const first = new Promise<void>((resolve) => stream.once('data', () => resolve()));
    stream.on('data', (m: HealthCheckResponse) => seen.push(m.status));
    stream.on('error', () => {});
    await first;
    await s.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toEqual([Serving.SERVING, Serving.NOT_SERVING]);
    c.close();
  });

  it('lets go of the decoded request once its Check is answered (its contents are not promoted with the call)', async () => {
    const config = loadConfig({ env: {}, overrides: { agent: { spiffe_id: agentId('local') } } });
    const { check: fn } = checkFromConfig(config, { trust: id.trust, ledger: memorySink(), clock });
    const seen: CheckRequest[] = [];
    let pathDuringCheck: string | undefined;
    const s = await startAuthzServer({
      listen: '127.0.0.1:0',
      check: (req) => {
        seen.push(req);
        pathDuringCheck = req.attributes?.request?.http?.path;
        return fn(req);
      },
      transport,
    });
    const c = authzClient(s.address);
    try {
      const { token } = id.mint({ scope: ['fs.read'] });
      const res = await callCheck(c, checkRequest(mcp('fs.read'), token));
      expect(res.httpResponse.case).toBe('okResponse');
      expect(pathDuringCheck).toBe('/mcp');
      expect(seen).toHaveLength(1);
      expect(seen[0]?.attributes).toBeUndefined();
    } finally {
      c.close();
      await s.close();
    }
  });

  it('a check function that throws or rejects still answers a deny (AUTHZ_INTERNAL); the server keeps serving', async () => {
    let mode: 'throw' | 'reject' = 'throw';
    const s = await startAuthzServer({
      listen: '127.0.0.1:0',
      check: (() => {
        if (mode === 'throw') throw new Error('bug');
        return Promise.reject(new Error('bug'));
      }) as CheckFn,
      transport,
    });
    const c = authzClient(s.address);
    try {
      for (const m of ['throw', 'reject'] as const) {
        mode = m;
        const res = await callCheck(c, checkRequest(mcp('fs.read')));
        expect([res.httpResponse.case, bodyCode(res)]).toEqual(['deniedResponse', 'AUTHZ_INTERNAL']);
      }
    } finally {
      c.close();
      await s.close();
    }
  });

  it('close() drains: reports NOT_SERVING and stops accepting', async () => {
    const config = loadConfig({ env: {}, overrides: { agent: { spiffe_id: agentId('local') } } });
    const { check: fn } = checkFromConfig(config, { trust: id.trust, ledger: memorySink(), clock });
    const s = await startAuthzServer({ listen: '127.0.0.1:0', check: fn, drainMs: 1000, transport });
    const c = healthClient(s.address);
    expect(healthOf(await callHealth(c))).toEqual(status(Serving.SERVING));
    await s.close();
    await expect(callHealth(c)).rejects.toMatchObject({ code: 14 });
    c.close();
  });
});
