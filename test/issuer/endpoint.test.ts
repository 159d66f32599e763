/** The issuer endpoint over real sockets: HTTP/JSON and gRPC on ephemeral loopback ports. */
import { request } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningIssuer, startIssuer } from '../../src/issuer/start.js';
import { verifyChain } from '../../src/token/index.js';
import { issuerCall as grpcCall, issuerClient } from '../support/issuer-grpc.js';
import { MALFORMED_TOKENS } from '../token/malformed.js';
import { AGENT, cleanupDirs, OPERATOR, tempDir, testOptions, WORKER } from './helpers.js';

type Json = Record<string, unknown>;

interface Reply {
  status: number;
  body: Json;
}

/** Raw HTTP request (node:http, so we control headers and body bytes exactly). */
function http(
  base: string,
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${path}`,
      {
        method,
        headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: Json;
          try {
            parsed = JSON.parse(text) as Json;
          } catch {
            parsed = { raw: text };
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

const post = (base: string, path: string, json: unknown, headers: Record<string, string> = {}) =>
  http(base, 'POST', path, JSON.stringify(json), headers);
const op = { authorization: `Bearer ${OPERATOR}` };

async function grpcError(p: Promise<unknown>): Promise<{ status: number; code: string | undefined }> {
  try {
    await p;
  } catch (e) {
    const err = e as grpc.ServiceError;
    return { status: err.code, code: err.metadata?.get('sigil-code')[0] as string | undefined };
  }
  throw new Error('expected a gRPC error');
}

describe('issuer endpoint, default config (no operator credential)', () => {
  let issuer: RunningIssuer;
  let client: grpc.Client;
  beforeAll(async () => {
    issuer = await startIssuer(testOptions(tempDir()));
    client = issuerClient(issuer.grpc!.target);
  });
  afterAll(async () => {
    client.close();
    await issuer.close();
    cleanupDirs();
  });

  it('Mint is disabled: 403 / PERMISSION_DENIED ISSUER_MINT_DISABLED, even with a credential', async () => {
    const req = { sub: AGENT, task_id: 't', tool_scope: ['fs.read'] };
    for (const headers of [{}, op]) {
      const r = await post(issuer.http!.url, '/v1/mint', req, headers);
      expect(r).toEqual({ status: 403, body: { code: 'ISSUER_MINT_DISABLED', error: expect.any(String) } });
    }
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${OPERATOR}`);
    expect(await grpcError(grpcCall(client, 'Mint', req, md))).toEqual({
      status: grpc.status.PERMISSION_DENIED,
      code: 'ISSUER_MINT_DISABLED',
    });
  });

  it('Revoke over the network is disabled too', async () => {
    const r = await post(issuer.http!.url, '/v1/revoke', { task: 't' }, op);
    expect(r.status).toBe(403);
    expect(r.body.code).toBe('ISSUER_REVOKE_DISABLED');
    expect(await grpcError(grpcCall(client, 'Revoke', { task: 't' }))).toEqual({
      status: grpc.status.PERMISSION_DENIED,
      code: 'ISSUER_REVOKE_DISABLED',
    });
  });

  it('dev keys exist after first start: JWKS and identity are served', async () => {
    const jwks = await http(issuer.http!.url, 'GET', '/.well-known/jwks.json');
    expect(jwks.status).toBe(200);
    expect((jwks.body.keys as Json[]).length).toBe(1);
    const id = await http(issuer.http!.url, 'GET', '/v1/identity');
    expect(id.body).toMatchObject({
      spiffe_id: AGENT,
      issuer: 'spiffe://sigil.mesh/sigil/issuer',
      trust_domain: 'sigil.mesh',
      public_key: { kty: 'OKP', crv: 'Ed25519' },
    });
    const gid = await grpcCall(client, 'GetIdentity', {});
    expect(gid.spiffe_id).toBe(AGENT);
    expect((gid.public_key as Json).x).toBe((id.body.public_key as Json).x);
    const gj = await grpcCall(client, 'GetJwks', {});
    expect((gj.keys as Json[]).map((k) => k.kid)).toEqual((jwks.body.keys as Json[]).map((k) => k.kid));
  });
});

describe('issuer endpoint with an operator credential', () => {
  let issuer: RunningIssuer;
  let client: grpc.Client;
  let base: string;
  const opMd = () => {
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${OPERATOR}`);
    return md;
  };
  const verify = (t: string) => verifyChain(t, { trust: issuer.stores.trust });

  beforeAll(async () => {
    const options = testOptions(tempDir(), { issuer: { operator_token: OPERATOR } });
    issuer = await startIssuer(options);
    issuer.stores.keys.agents.ensure(WORKER);
    base = issuer.http!.url;
    client = issuerClient(issuer.grpc!.target);
  });
  afterAll(async () => {
    client.close();
    await issuer.close();
    cleanupDirs();
  });

  it('Mint without or with a wrong credential is refused with ISSUER_UNAUTHORIZED', async () => {
    const req = { sub: AGENT, task_id: 't', tool_scope: ['fs.read'] };
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer wrong-credential-xxxxxxxx' },
      { authorization: `Basic ${OPERATOR}` },
      { authorization: `Bearer ${OPERATOR}x` },
    ];
    for (const headers of attempts) {
      const r = await post(base, '/v1/mint', req, headers);
      expect(r.status).toBe(401);
      expect(r.body.code).toBe('ISSUER_UNAUTHORIZED');
    }
    const md = new grpc.Metadata();
    md.set('authorization', 'Bearer nope');
    expect(await grpcError(grpcCall(client, 'Mint', req, md))).toEqual({
      status: grpc.status.UNAUTHENTICATED,
      code: 'ISSUER_UNAUTHORIZED',
    });
    expect(await grpcError(grpcCall(client, 'Mint', req))).toEqual({
      status: grpc.status.UNAUTHENTICATED,
      code: 'ISSUER_UNAUTHORIZED',
    });
  });

  it('HTTP: mint for the local agent (cnf = its key) → delegate → chain verifies', async () => {
    const m = await post(
      base,
      '/v1/mint',
      { sub: AGENT, task_id: 'task-h', tool_scope: ['fs.*', 'net.get'], ttl: 120 },
      op,
    );
    expect(m.status).toBe(200);
    const ident = await http(base, 'GET', '/v1/identity');
    expect((m.body.cnf as Json).x).toBe((ident.body.public_key as Json).x);
    expect(m.body.delegable).toBe(true);
    const d = await post(base, '/v1/delegate', { token: m.body.token, to: WORKER, tool_scope: ['fs.read'] });
    expect(d.status).toBe(200);
    expect(d.body).toMatchObject({ depth: 2, sub: WORKER, task_id: 'task-h', delegable: true });
    const chain = verify(d.body.token as string);
    expect(chain.depth).toBe(2);
    expect(chain.leaf.tool_scope).toEqual(['fs.read']);
    expect(chain.leaf.iss).toBe(AGENT);
    // The worker's key is held here too, so it can delegate again; the third hop has no key → terminal.
    const d2 = await post(base, '/v1/delegate', {
      token: d.body.token,
      to: 'spiffe://sigil.mesh/agent/tool/9',
      tool_scope: ['fs.read'],
    });
    expect(d2.body).toMatchObject({ depth: 3, delegable: false });
    expect(verify(d2.body.token as string).depth).toBe(3);
    const d3 = await post(base, '/v1/delegate', {
      token: d2.body.token,
      to: WORKER,
      tool_scope: ['fs.read'],
    });
    expect(d3).toMatchObject({ status: 403, body: { code: 'ISSUER_NOT_DELEGABLE' } });
  });

  it('gRPC: mint → delegate → chain verifies; widening is refused with its TBIT code', async () => {
    const m = await grpcCall(
      client,
      'Mint',
      { sub: AGENT, task_id: 'task-g', tool_scope: ['fs.*'], aud: ['spiffe://sigil.mesh'] },
      opMd(),
    );
    expect(m.depth).toBe(1);
    const d = await grpcCall(client, 'Delegate', { token: m.token, to: WORKER, tool_scope: ['fs.read'] });
    expect(verify(d.token as string).leaf.sub).toBe(WORKER);
    expect(
      await grpcError(grpcCall(client, 'Delegate', { token: m.token, to: WORKER, tool_scope: ['net.*'] })),
    ).toEqual({ status: grpc.status.UNAUTHENTICATED, code: 'TBIT_SCOPE_WIDENED' });
  });

  it('Delegate refuses a chain whose leaf cnf is not held here (ISSUER_NOT_HOLDER)', async () => {
    const foreign = { kty: 'OKP', crv: 'Ed25519', x: Buffer.alloc(32, 9).toString('base64url') };
    const m = await post(
      base,
      '/v1/mint',
      {
        sub: 'spiffe://sigil.mesh/agent/remote/7',
        task_id: 't',
        tool_scope: ['fs.read'],
        holder_key: foreign,
      },
      op,
    );
    expect(m.status).toBe(200);
    const d = await post(base, '/v1/delegate', { token: m.body.token, to: WORKER, tool_scope: ['fs.read'] });
    expect(d).toMatchObject({ status: 403, body: { code: 'ISSUER_NOT_HOLDER' } });
    expect(
      await grpcError(
        grpcCall(client, 'Delegate', { token: m.body.token, to: WORKER, tool_scope: ['fs.read'] }),
      ),
    ).toEqual({ status: grpc.status.PERMISSION_DENIED, code: 'ISSUER_NOT_HOLDER' });
    // A subject with no local key and no holder_key gets a terminal root: no cnf.
    const t = await post(
      base,
      '/v1/mint',
      { sub: 'spiffe://sigil.mesh/agent/remote/8', task_id: 't', tool_scope: ['fs.read'] },
      op,
    );
    expect(t.body).toMatchObject({ delegable: false });
    expect(t.body.cnf).toBeUndefined();
  });

  it('to_key sets the child cnf; a private JWK is refused', async () => {
    const m = await post(base, '/v1/mint', { sub: AGENT, task_id: 't', tool_scope: ['fs.*'] }, op);
    const to_key = { kty: 'OKP', crv: 'Ed25519', x: Buffer.alloc(32, 3).toString('base64url') };
    const d = await post(base, '/v1/delegate', {
      token: m.body.token,
      to: 'spiffe://sigil.mesh/agent/x/1',
      tool_scope: ['fs.read'],
      to_key,
    });
    expect((d.body.cnf as Json).x).toBe(to_key.x);
    const bad = await post(base, '/v1/delegate', {
      token: m.body.token,
      to: 'spiffe://sigil.mesh/agent/x/1',
      tool_scope: ['fs.read'],
      to_key: { ...to_key, d: to_key.x },
    });
    expect(bad).toMatchObject({ status: 400, body: { code: 'ISSUER_BAD_REQUEST' } });
  });

  it('Revoke over HTTP and gRPC takes effect at once; GET /v1/revocations lists it', async () => {
    const m = await post(base, '/v1/mint', { sub: AGENT, task_id: 'task-r', tool_scope: ['fs.*'] }, op);
    const d = await post(base, '/v1/delegate', { token: m.body.token, to: WORKER, tool_scope: ['fs.read'] });
    expect(verify(d.body.token as string).depth).toBe(2);
    expect((await post(base, '/v1/revoke', { task: 'task-r' })).body.code).toBe('ISSUER_UNAUTHORIZED');
    const r = await post(base, '/v1/revoke', { task: 'task-r' }, op);
    expect(r).toMatchObject({ status: 200, body: { kind: 'task', id: 'task-r', already: false } });
    expect(() => verify(d.body.token as string)).toThrow(expect.objectContaining({ code: 'TBIT_REVOKED' }));
    const again = await post(base, '/v1/delegate', {
      token: d.body.token,
      to: 'spiffe://sigil.mesh/agent/x/1',
      tool_scope: ['fs.read'],
    });
    expect(again).toMatchObject({ status: 401, body: { code: 'TBIT_REVOKED' } });
    const g = await grpcCall(client, 'Revoke', { jti: 'jti-from-grpc' }, opMd());
    expect(g).toMatchObject({ kind: 'jti', id: 'jti-from-grpc', already: false });
    const list = await http(base, 'GET', '/v1/revocations');
    expect((list.body.tasks as Json[]).map((t) => t.id)).toContain('task-r');
    expect((list.body.jtis as Json[]).map((t) => t.id)).toContain('jti-from-grpc');
  });

  describe('bad input gets a clear 4xx with a code, and the server keeps running', () => {
    it('huge body → 413 ISSUER_BODY_TOO_LARGE (declared and streamed)', async () => {
      const huge = JSON.stringify({ token: 'a'.repeat(70 * 1024), to: WORKER, tool_scope: ['x'] });
      const r = await http(base, 'POST', '/v1/delegate', huge);
      expect(r).toMatchObject({ status: 413, body: { code: 'ISSUER_BODY_TOO_LARGE' } });
      // Chunked (no content-length): the limit is enforced while streaming.
      const chunked = await new Promise<Reply>((resolve, reject) => {
        const req = request(
          `${base}/v1/delegate`,
          { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                body: JSON.parse(Buffer.concat(chunks).toString()) as Json,
              }),
            );
          },
        );
        req.on('error', reject);
        for (let i = 0; i < 20; i++) req.write('x'.repeat(8 * 1024));
        req.end();
      });
      expect(chunked).toMatchObject({ status: 413, body: { code: 'ISSUER_BODY_TOO_LARGE' } });
    });

    it('non-JSON, wrong content type, wrong types, unknown routes and methods', async () => {
      const cases: [Promise<Reply>, number, string][] = [
        [http(base, 'POST', '/v1/delegate', '{"token": '), 400, 'ISSUER_BAD_JSON'],
        [http(base, 'POST', '/v1/delegate', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), 400, 'ISSUER_BAD_JSON'],
        [
          http(base, 'POST', '/v1/delegate', 'token=x', {
            'content-type': 'application/x-www-form-urlencoded',
          }),
          415,
          'ISSUER_UNSUPPORTED_MEDIA_TYPE',
        ],
        [post(base, '/v1/delegate', { token: 5, to: WORKER, tool_scope: ['x'] }), 400, 'ISSUER_BAD_REQUEST'],
        [
          post(base, '/v1/delegate', { token: 'a.b.c', to: WORKER, tool_scope: 'fs.read' }),
          400,
          'ISSUER_BAD_REQUEST',
        ],
        [
          post(base, '/v1/delegate', { token: 'a.b.c', to: WORKER, tool_scope: [], extra: 1 }),
          400,
          'ISSUER_BAD_REQUEST',
        ],
        [post(base, '/v1/delegate', [1, 2, 3]), 400, 'ISSUER_BAD_REQUEST'],
        [post(base, '/v1/delegate', null), 400, 'ISSUER_BAD_REQUEST'],
        [
          post(base, '/v1/mint', { sub: AGENT, task_id: 't', tool_scope: ['fs.read'], ttl: -1 }, op),
          400,
          'ISSUER_BAD_REQUEST',
        ],
        [
          post(base, '/v1/mint', { sub: AGENT, task_id: 't', tool_scope: ['fs.read'], ttl: 301 }, op),
          401,
          'TBIT_TTL_EXCEEDED',
        ],
        [
          post(
            base,
            '/v1/mint',
            { sub: 'spiffe://sigil.mesh/agent/../x', task_id: 't', tool_scope: ['fs.read'] },
            op,
          ),
          401,
          'TBIT_INVALID_SPIFFE_ID',
        ],
        [
          http(
            base,
            'POST',
            '/v1/mint',
            '{"sub":"spiffe://sigil.mesh/agent/local/dev","task_id":"t","tool_scope":["fs.read"],"__proto__":{"ttl":1}}',
            op,
          ),
          400,
          'ISSUER_BAD_REQUEST',
        ],
        [http(base, 'GET', '/__proto__'), 404, 'ISSUER_NOT_FOUND'],
        [http(base, 'GET', '/constructor'), 404, 'ISSUER_NOT_FOUND'],
        [http(base, 'OPTIONS', '/v1/mint'), 405, 'ISSUER_METHOD_NOT_ALLOWED'],
        [http(base, 'GET', '/v1/nope'), 404, 'ISSUER_NOT_FOUND'],
        [http(base, 'DELETE', '/v1/mint'), 405, 'ISSUER_METHOD_NOT_ALLOWED'],
        [http(base, 'GET', '/v1/delegate'), 405, 'ISSUER_METHOD_NOT_ALLOWED'],
      ];
      for (const [p, status, code] of cases) {
        const r = await p;
        expect({ status: r.status, code: r.body.code }).toEqual({ status, code });
        expect(typeof r.body.error).toBe('string');
      }
    });

    it('every token of the shared malformed table → 4xx with a TBIT code over HTTP and gRPC', async () => {
      let sent = 0;
      for (const m of MALFORMED_TOKENS) {
        // Non-strings are body-level type errors (covered above); over-64-KiB tokens can't fit in a body.
        if (typeof m.token !== 'string' || m.token.length > 60 * 1024) continue;
        const r = await post(base, '/v1/delegate', { token: m.token, to: WORKER, tool_scope: ['fs.read'] });
        sent++;
        // The empty string fails the request schema before reaching the token parser.
        const want = m.token.length === 0 ? 'ISSUER_BAD_REQUEST' : m.code;
        expect({ name: m.name, code: r.body.code }).toEqual({ name: m.name, code: want });
        expect(r.status, m.name).toBeGreaterThanOrEqual(400);
        expect(r.status, m.name).toBeLessThan(500);
        if (m.token.length === 0) continue;
        const e = await grpcError(
          grpcCall(client, 'Delegate', { token: m.token, to: WORKER, tool_scope: ['fs.read'] }),
        );
        expect({ name: m.name, code: e.code }).toEqual({ name: m.name, code: m.code });
      }
      expect(sent).toBeGreaterThan(10);
      // Still serving.
      expect((await http(base, 'GET', '/v1/identity')).status).toBe(200);
    });

    it('gRPC bad arguments → INVALID_ARGUMENT ISSUER_BAD_REQUEST; oversized message → RESOURCE_EXHAUSTED', async () => {
      expect(
        await grpcError(grpcCall(client, 'Delegate', { token: '', to: WORKER, tool_scope: ['fs.read'] })),
      ).toEqual({ status: grpc.status.INVALID_ARGUMENT, code: 'ISSUER_BAD_REQUEST' });
      expect(await grpcError(grpcCall(client, 'Revoke', { task: 'a', jti: 'b' }, opMd()))).toEqual({
        status: grpc.status.INVALID_ARGUMENT,
        code: 'ISSUER_BAD_REQUEST',
      });
      const big = await grpcError(
        grpcCall(client, 'Delegate', { token: 'a'.repeat(100 * 1024), to: WORKER, tool_scope: ['fs.read'] }),
      );
      expect(big.status).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect((await grpcCall(client, 'GetIdentity', {})).spiffe_id).toBe(AGENT);
    });
  });
});
