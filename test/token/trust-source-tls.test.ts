/**
 * Remote trust sources over real local HTTPS servers whose certificates openssl makes at test time
 * (docs/tbit.md §8): a pinned CA is the only one trusted, a server certificate from another CA is refused with
 * TBIT_TRUST_SOURCE_REFUSED (first load rejects; a refresh keeps the last good keys), and plain http:// is refused
 * before any connection unless allowed for a loopback host.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTrustBundle, verifyChain } from '../../src/token/index.js';
import { type DocServer, startDocServer } from '../support/doc-server.js';
import { type TestPki, testPki } from '../support/tls.js';
import { BIND, clockAt, codeOf, issuer, KID, keyPair, pubJwk, rootBy as root, T0 } from './helpers.js';

const depth = (token: string, trust: Parameters<typeof verifyChain>[1]['trust']) =>
  verifyChain(token, { trust, clock: clockAt(T0 + 1) }).depth;

let caA: TestPki;
let caB: TestPki;
const servers: DocServer[] = [];
const serve = async (pki?: TestPki) => {
  const s = await startDocServer(pki);
  servers.push(s);
  s.set(JSON.stringify({ keys: [pubJwk()] }));
  return s;
};

beforeAll(() => {
  caA = testPki();
  caB = testPki();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  caA.dispose();
  caB.dispose();
});

describe('https trust bundle with a pinned CA', () => {
  it('loads from a server whose certificate chains to the pinned CA', async () => {
    const s = await serve(caA);
    const b = await loadTrustBundle(s.url, { ...BIND, ca: caA.read(caA.ca) });
    expect(depth(root(), b)).toBe(1);
    b.close();
  });

  it('refuses a server certificate from another CA (first load rejects: no keys)', async () => {
    const s = await serve(caB);
    await expect(loadTrustBundle(s.url, { ...BIND, ca: caA.read(caA.ca) })).rejects.toMatchObject({
      code: 'TBIT_TRUST_SOURCE_REFUSED',
    });
    expect(s.requests).toBe(0); // the handshake failed: nothing was asked, nothing was read
  });

  it('without a pin, trusts only the system CAs (a private CA is refused too)', async () => {
    const s = await serve(caA);
    await expect(loadTrustBundle(s.url, BIND)).rejects.toMatchObject({ code: 'TBIT_TRUST_SOURCE_REFUSED' });
  });

  it('a refresh from a server now presenting another CA fails and keeps the last good keys', async () => {
    const s = await serve(caA);
    const b = await loadTrustBundle(s.url, { ...BIND, ca: caA.read(caA.ca) });
    const rotated = keyPair();
    s.useCertOf(caB); // a man in the middle with a certificate from another CA…
    s.set(JSON.stringify({ keys: [pubJwk(rotated, 'evil')] })); // …offering its own key
    await expect(b.refresh()).rejects.toMatchObject({ code: 'TBIT_TRUST_SOURCE_REFUSED' });
    expect(depth(root(), b)).toBe(1);
    expect(codeOf(() => depth(root(rotated, 'evil'), b))).toBe('TBIT_UNKNOWN_KEY');
    s.useCertOf(caA); // the real server again: the next refresh picks up the new document
    expect(await b.refresh()).toBe(true);
    expect(depth(root(rotated, 'evil'), b)).toBe(1);
    b.close();
  });

  it('a revocation list over https is read with the same pin', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sigil-trust-tls-'));
    try {
      const jwks = join(dir, 'jwks.json');
      writeFileSync(jwks, JSON.stringify({ keys: [pubJwk()] }));
      const rev = await serve(caA);
      rev.set(JSON.stringify({ tasks: [], jtis: ['dead'] }));
      const b = await loadTrustBundle(jwks, { ...BIND, revocations: rev.url, ca: caA.read(caA.ca) });
      expect(codeOf(() => depth(root(issuer, KID, 'dead'), b))).toBe('TBIT_REVOKED');
      expect(depth(root(issuer, KID, 'alive'), b)).toBe(1);
      b.close();
      await expect(
        loadTrustBundle(jwks, { ...BIND, revocations: rev.url, ca: caB.read(caB.ca) }),
      ).rejects.toMatchObject({ code: 'TBIT_TRUST_SOURCE_REFUSED' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('plain http trust sources', () => {
  it('refuses http:// without allowLoopbackHttp, before connecting', async () => {
    const s = await serve();
    await expect(loadTrustBundle(s.url, BIND)).rejects.toMatchObject({ code: 'TBIT_TRUST_SOURCE_REFUSED' });
    expect(s.requests).toBe(0);
  });

  it('allows http:// to a loopback host with allowLoopbackHttp (127.0.0.1 and localhost)', async () => {
    const s = await serve();
    for (const url of [s.url, s.url.replace('127.0.0.1', 'localhost')]) {
      const b = await loadTrustBundle(url, { ...BIND, allowLoopbackHttp: true });
      expect(depth(root(), b)).toBe(1);
      b.close();
    }
  });

  it('refuses http:// to a non-loopback host even with allowLoopbackHttp', async () => {
    // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): nothing answers there, and nothing is tried.
    for (const url of [
      'http://192.0.2.10/jwks.json',
      'http://[2001:db8::1]/jwks.json',
      'http://example.com/j',
    ]) {
      await expect(loadTrustBundle(url, { ...BIND, allowLoopbackHttp: true })).rejects.toMatchObject({
        code: 'TBIT_TRUST_SOURCE_REFUSED',
      });
    }
  });

  it('refuses other URL schemes', async () => {
    await expect(loadTrustBundle('ftp://127.0.0.1/jwks.json', BIND)).rejects.toMatchObject({
      code: 'TBIT_TRUST_SOURCE_REFUSED',
    });
  });
});
