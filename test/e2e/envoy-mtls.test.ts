/**
 * mTLS peer binding through a real Envoy (envoy/sidecar-mtls.yaml): Envoy verifies the caller's client
 * certificate and reports its URI SAN as source.principal; SIGIL allows only when the token's leaf `sub`
 * is that same SPIFFE ID (peer_binding: require).
 */
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EnvoyProcess, startTestEnvoy } from '../support/envoy.js';
import { issuerFor, type SigilProcess, startSigilProcess } from '../support/sigil-process.js';
import { type TestPki, testPki } from '../support/tls.js';
import { type EchoUpstream, startEchoUpstream } from '../support/upstream.js';

const SELF = 'spiffe://sigil.mesh/agent/tools/mtls';
const ALICE = 'spiffe://sigil.mesh/agent/alice/1';
const BOB = 'spiffe://sigil.mesh/agent/bob/1';

let pki: TestPki;
let upstream: EchoUpstream;
let sigil: SigilProcess;
let envoy: EnvoyProcess;
let issuer: Awaited<ReturnType<typeof issuerFor>>;

beforeAll(async () => {
  pki = testPki();
  upstream = await startEchoUpstream();
  sigil = await startSigilProcess({
    agent: { spiffe_id: SELF },
    authz: { peer_binding: 'require', routes: [{ method: 'POST', path: '/tools/{name}', tool: '{name}' }] },
  });
  envoy = await startTestEnvoy(sigil.authzPort, upstream.port, {
    config: 'sidecar-mtls.yaml',
    files: { SERVER_CERT: pki.server.cert, SERVER_KEY: pki.server.key, CLIENT_CA: pki.ca },
  });
  issuer = await issuerFor(sigil.config);
});

afterAll(async () => {
  issuer?.close();
  await envoy?.stop();
  await sigil?.dispose();
  await upstream?.close();
  pki?.dispose();
});

function post(path: string, cert: { cert: string; key: string } | undefined, token: string) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: envoy.ports.listen,
        path,
        method: 'POST',
        ca: pki.read(pki.ca),
        ...(cert ? { cert: pki.read(cert.cert), key: pki.read(cert.key) } : {}),
        headers: { authorization: `Bearer ${token}`, 'content-length': 0 },
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const mint = (sub: string) =>
  issuer.service.mint({ sub, task_id: 'mtls', tool_scope: ['fs.read'], aud: SELF, ttl: 120 }, issuer.operator)
    .token;

describe('mTLS peer binding through Envoy', () => {
  it("the token holder's own certificate → 200, and the upstream sees the bound identity", async () => {
    const r = await post('/tools/fs.read', pki.client(ALICE), mint(ALICE));
    expect(r.status).toBe(200);
    expect(upstream.seen.at(-1)!.headers['x-sigil-sub']).toBe(ALICE);
  });

  it("someone else's certificate presenting a stolen token → 401 AUTHZ_PEER_MISMATCH", async () => {
    const r = await post('/tools/fs.read', pki.client(BOB), mint(ALICE));
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body).code).toBe('AUTHZ_PEER_MISMATCH');
  });

  it('no client certificate → the TLS handshake is refused by Envoy', async () => {
    await expect(post('/tools/fs.read', undefined, mint(ALICE))).rejects.toThrow();
  });
});
