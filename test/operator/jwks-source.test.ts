/**
 * SigilTrust jwksUri sources (src/operator/lib/jwks-source.ts) against real local servers: https with a throw-away
 * CA as the caBundle, the transport limits (deadline, body cap, no redirect, https only), and the key filter that
 * accepts Ed25519 OKP public keys only. The operator's use of it runs end to end in test/k8s/operator-e2e.test.ts.
 */
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createServer as createNetServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OperatorError } from '../../src/operator/index.js';
import { jwksSource } from '../../src/operator/lib/jwks-source.js';
import { type DocServer, startDocServer } from '../support/doc-server.js';
import { keyPair } from '../support/identity.js';
import { type TestPki, testPki } from '../support/tls.js';

const limits = { timeoutMs: 1500, maxBytes: 4096 };
const key = (kid: string) => ({ kty: 'OKP', crv: 'Ed25519', x: keyPair().jwk.x, kid });
let pki: TestPki;
let other: TestPki;
let server: DocServer;
let ca: string;

beforeAll(async () => {
  pki = testPki();
  other = testPki();
  ca = pki.read(pki.ca).toString();
  server = await startDocServer(pki);
});
afterAll(async () => {
  await server?.close();
  pki?.dispose();
  other?.dispose();
});

/** The OperatorError code and message `p` rejects with. */
async function failure(p: Promise<unknown>): Promise<[string, string]> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(OperatorError);
  return [(e as OperatorError).code, (e as Error).message];
}

describe('jwksUri source', () => {
  it('reads Ed25519 keys (public members only), then a 304 is "unchanged", then a change is read', async () => {
    const a = key('a');
    server.set(JSON.stringify({ keys: [{ ...a, alg: 'EdDSA', use: 'sig', extra: 1 }] }));
    const src = jwksSource(server.url, ca, limits);
    expect(await src.read()).toEqual([a]);
    expect(await src.read()).toBeUndefined();
    const b = key('b');
    server.set(JSON.stringify({ keys: [a, b] }));
    expect(await src.read()).toEqual([a, b]);
  });

  it.each([
    ['an RSA key', { kty: 'RSA', n: 'AQAB', e: 'AQAB', kid: 'r' }, 'not an Ed25519 OKP key'],
    ['an X25519 key', { ...key('x'), crv: 'X25519' }, 'not an Ed25519 OKP key'],
    ['a private member', { ...key('d'), d: 'secret' }, 'holds a private key'],
    ['a short x', { ...key('s'), x: 'short' }, 'x is not a 32-byte base64url key'],
    ['no kid', { kty: 'OKP', crv: 'Ed25519', x: keyPair().jwk.x }, 'needs a kid'],
    ['an encryption key', { ...key('u'), use: 'enc' }, 'use enc'],
    ['another algorithm', { ...key('g'), alg: 'ES256' }, 'alg ES256'],
  ])(
    'refuses a document with %s (OPERATOR_TRUST_INVALID), and refuses it again on the next read',
    async (_w, bad, words) => {
      server.set(JSON.stringify({ keys: [key('ok'), bad] }));
      const src = jwksSource(server.url, ca, limits);
      for (let i = 0; i < 2; i++) {
        const [code, message] = await failure(src.read());
        expect(code).toBe('OPERATOR_TRUST_INVALID');
        expect(message).toContain(words);
      }
    },
  );

  it.each([
    ['not JSON', '{keys', 'not JSON'],
    ['no keys member', '{"jwks": []}', 'not a JWKS'],
    ['an empty set', '{"keys": []}', 'needs 1 to 64 keys'],
  ])('refuses %s', async (_w, body, words) => {
    server.set(body);
    const [code, message] = await failure(jwksSource(server.url, ca, limits).read());
    expect(code).toBe('OPERATOR_TRUST_INVALID');
    expect(message).toContain(words);
  });

  it('a body over max_bytes is a failed fetch', async () => {
    server.set(JSON.stringify({ keys: [key('a')], pad: 'x'.repeat(limits.maxBytes) }));
    const [code, message] = await failure(jwksSource(server.url, ca, limits).read());
    expect(code).toBe('OPERATOR_TRUST_SOURCE_FAILED');
    expect(message).toContain(`${limits.maxBytes}-byte cap`);
  });

  it('a server certificate from another CA is a failed fetch (caBundle pins the CA)', async () => {
    server.set(JSON.stringify({ keys: [key('a')] }));
    const [code, message] = await failure(
      jwksSource(server.url, other.read(other.ca).toString(), limits).read(),
    );
    expect(code).toBe('OPERATOR_TRUST_SOURCE_FAILED');
    expect(message).toContain('not trusted');
    // Without a caBundle, Node's default roots do not know the throw-away CA either.
    expect((await failure(jwksSource(server.url, undefined, limits).read()))[0]).toBe(
      'OPERATOR_TRUST_SOURCE_FAILED',
    );
  });

  it('refuses http://, file paths and a caBundle that is not a certificate, before any request', async () => {
    const before = server.requests;
    for (const [uri, bundle, words] of [
      [server.url.replace('https:', 'http:'), undefined, 'only https://'],
      ['/etc/passwd', undefined, 'only https://'],
      [server.url, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', 'spec.caBundle'],
    ] as const) {
      let err: unknown;
      try {
        jwksSource(uri, bundle, limits);
      } catch (e) {
        err = e;
      }
      expect((err as OperatorError).code).toBe('OPERATOR_TRUST_SOURCE_FAILED');
      expect((err as Error).message).toContain(words);
    }
    expect(server.requests).toBe(before);
  });

  it('does not follow a redirect, and a silent server or a stalled body fails at the deadline', async () => {
    const tls = { cert: pki.read(pki.server.cert), key: pki.read(pki.server.key) };
    const redirect = createHttpsServer(tls, (_req, res) =>
      res.writeHead(302, { location: server.url }).end(),
    );
    await new Promise<void>((r) => redirect.listen(0, '127.0.0.1', r));
    // Headers and the start of the body, then nothing: the deadline covers the body too.
    const stalled = createHttpsServer(tls, (_req, res) => {
      res.writeHead(200, { 'content-length': 100 });
      res.write('{"keys": [');
    });
    await new Promise<void>((r) => stalled.listen(0, '127.0.0.1', r));
    const sockets: Socket[] = [];
    const silent = createNetServer((s) => sockets.push(s)); // accepts, never answers the TLS handshake
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const port = (s: { address(): unknown }) => (s.address() as AddressInfo).port;
      const [code, message] = await failure(
        jwksSource(`https://127.0.0.1:${port(redirect)}/jwks`, ca, limits).read(),
      );
      expect(code).toBe('OPERATOR_TRUST_SOURCE_FAILED');
      expect(message).toContain('HTTP 302');
      // Neither the silent server nor the stalled body outlives the deadline by more than scheduling noise.
      for (const stuck of [silent, stalled]) {
        const t0 = Date.now();
        const [slowCode] = await failure(
          jwksSource(`https://127.0.0.1:${port(stuck)}/jwks`, ca, limits).read(),
        );
        expect(slowCode).toBe('OPERATOR_TRUST_SOURCE_FAILED');
        expect(Date.now() - t0).toBeGreaterThanOrEqual(limits.timeoutMs - 50);
        expect(Date.now() - t0).toBeLessThan(limits.timeoutMs + 3000);
      }
    } finally {
      for (const s of sockets) s.destroy();
      for (const srv of [redirect, stalled]) {
        srv.closeAllConnections();
        await new Promise((r) => srv.close(r));
      }
      await new Promise((r) => silent.close(r));
    }
  });
});
