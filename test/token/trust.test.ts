/** Trust store and trust bundle: JWKS import rules, revocations, atomic updates, file mtime and HTTP ETag refresh. */

import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTrustStore, loadTrustBundle, verifyChain } from '../../src/token/index.js';
import { BIND, clockAt, codeOf, ISS, issuer, KID, keyPair, pubJwk, rootBy, T0 } from './helpers.js';

const ok = (token: string, trust: Parameters<typeof verifyChain>[1]['trust']) =>
  verifyChain(token, { trust, clock: clockAt(T0 + 1) }).depth;

describe('createTrustStore', () => {
  it('imports Ed25519 keys by kid and skips other key types and uses', () => {
    // DER out of the generator, then a fresh KeyObject: exporting the generator's own key as a JWK can
    // deadlock on Node 20 (src/lib/ed25519-key.ts).
    const spki = generateKeyPairSync('rsa', {
      modulusLength: 1024,
      publicKeyEncoding: { type: 'spki', format: 'der' },
      privateKeyEncoding: { type: 'pkcs8', format: 'der' },
    }).publicKey;
    const rsa = createPublicKey({ key: spki, format: 'der', type: 'spki' }).export({ format: 'jwk' });
    const s = createTrustStore({
      jwks: {
        keys: [
          { ...rsa, kid: 'rsa-1' },
          { ...keyPair().jwk, kid: 'enc-1', use: 'enc' },
          { ...keyPair().jwk, kid: 'es-1', alg: 'ES256' },
          pubJwk(),
        ],
      },
      ...BIND,
    });
    expect(s.keyCount).toBe(1);
    expect(ok(rootBy(), s)).toBe(1);
    expect(s.issuerKey(ISS, 'rsa-1')).toBeUndefined();
  });
  it('rejects a JWKS holding a private key, a duplicate kid, a kid-less Ed25519 key, or garbage', () => {
    const bad = [
      { keys: [{ ...pubJwk(), d: 'AAAA' }] },
      { keys: [pubJwk(), pubJwk()] },
      { keys: [{ ...issuer.jwk }] },
      { keys: [{ ...pubJwk(), x: 'short' }] },
      { keys: 'nope' },
      [],
      null,
    ];
    for (const jwks of bad) {
      expect(codeOf(() => createTrustStore({ jwks: jwks as never, ...BIND }))).toBe(
        'TBIT_TRUST_BUNDLE_INVALID',
      );
    }
  });
  it('issuers binding: a root signed by the key but naming another iss is TBIT_ISSUER_NOT_BOUND', () => {
    const s = createTrustStore({
      ...BIND,
      jwks: { keys: [pubJwk()] },
      issuers: ['spiffe://sigil.mesh/other-issuer'],
    });
    expect(codeOf(() => ok(rootBy(), s))).toBe('TBIT_ISSUER_NOT_BOUND');
  });
  it('function sources are re-read on update(); a bad update is atomic and keeps the old state', () => {
    let jwks: unknown = { keys: [pubJwk()] };
    const s = createTrustStore({ jwks: () => jwks as { keys: [] }, ...BIND });
    expect(ok(rootBy(), s)).toBe(1);
    const v = s.version;
    jwks = { keys: [{ ...pubJwk(), d: 'x' }] };
    expect(codeOf(() => s.update())).toBe('TBIT_TRUST_BUNDLE_INVALID');
    expect(s.version).toBe(v);
    expect(ok(rootBy(), s)).toBe(1);
    const next = keyPair();
    jwks = { keys: [pubJwk(next, 'k2')] };
    s.update();
    expect(s.version).toBe(v + 1);
    expect(ok(rootBy(next, 'k2'), s)).toBe(1);
    expect(codeOf(() => ok(rootBy(), s))).toBe('TBIT_UNKNOWN_KEY');
  });
  it('a source that throws becomes TBIT_TRUST_BUNDLE_INVALID', () => {
    expect(
      codeOf(() =>
        createTrustStore({
          jwks: () => {
            throw new Error('disk on fire');
          },
          ...BIND,
        }),
      ),
    ).toBe('TBIT_TRUST_BUNDLE_INVALID');
  });
  it('revocations carried inside the JWKS document are honoured', () => {
    const s = createTrustStore({
      jwks: { keys: [pubJwk()], revocations: { tasks: ['task-1'], jtis: [] } },
      ...BIND,
    });
    expect(codeOf(() => ok(rootBy(), s))).toBe('TBIT_REVOKED');
  });
  it('rejects malformed revocation lists', () => {
    for (const tasks of [[1], [{}], [{ id: 7 }], [''], [{ id: '' }], 'task-1', [null]]) {
      expect(
        codeOf(() =>
          createTrustStore({ jwks: { keys: [] }, revocations: { tasks, jtis: [] } as never, ...BIND }),
        ),
        JSON.stringify(tasks),
      ).toBe('TBIT_TRUST_BUNDLE_INVALID');
    }
  });
  it("reads a sidecar's own revocation list ({version, tasks: [{id, at}], jtis}) as a trust source", () => {
    const s = createTrustStore({
      jwks: { keys: [pubJwk()] },
      revocations: { version: 3, tasks: [{ id: 'task-1', at: 1_700_000_000 }], jtis: [] } as never,
      ...BIND,
    });
    expect(codeOf(() => ok(rootBy(), s))).toBe('TBIT_REVOKED');
  });
});

describe('loadTrustBundle from a file (mtime refresh)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-trust-'));
  const file = join(dir, 'jwks.json');
  const write = (doc: unknown, mtimeS: number) => {
    writeFileSync(file, JSON.stringify(doc));
    utimesSync(file, mtimeS, mtimeS);
  };

  it('loads, refreshes on change only, survives a corrupt update, picks up revocations', async () => {
    write({ keys: [pubJwk()] }, 1000);
    const b = await loadTrustBundle(file, BIND);
    expect(ok(rootBy(), b)).toBe(1);
    expect(await b.refresh()).toBe(false);

    const rotated = keyPair();
    write({ keys: [pubJwk(), pubJwk(rotated, 'k2')] }, 2000);
    expect(await b.refresh()).toBe(true);
    expect(ok(rootBy(rotated, 'k2'), b)).toBe(1);
    expect(b.jwks.keys).toHaveLength(2);

    write({ keys: [pubJwk()], revocations: { tasks: [], jtis: ['dead'] } }, 3000);
    expect(await b.refresh()).toBe(true);
    expect(codeOf(() => ok(rootBy(issuer, KID, 'dead'), b))).toBe('TBIT_REVOKED');

    writeFileSync(file, '{"keys": [');
    utimesSync(file, 4000, 4000);
    await expect(b.refresh()).rejects.toMatchObject({ code: 'TBIT_TRUST_BUNDLE_INVALID' });
    expect(ok(rootBy(), b)).toBe(1); // last good state kept
    b.close();
  });
  it('a missing file is TBIT_TRUST_BUNDLE_INVALID', async () => {
    await expect(loadTrustBundle(join(dir, 'nope.json'), BIND)).rejects.toMatchObject({
      code: 'TBIT_TRUST_BUNDLE_INVALID',
    });
  });
  it('a separate revocation file', async () => {
    write({ keys: [pubJwk()] }, 5000);
    const rev = join(dir, 'rev.json');
    writeFileSync(rev, JSON.stringify({ tasks: [], jtis: [] }));
    const b = await loadTrustBundle(file, { ...BIND, revocations: rev });
    expect(ok(rootBy(issuer, KID, 'j9'), b)).toBe(1);
    writeFileSync(rev, JSON.stringify({ tasks: [], jtis: ['j9'] }));
    utimesSync(rev, 6000, 6000);
    expect(await b.refresh()).toBe(true);
    expect(codeOf(() => ok(rootBy(issuer, KID, 'j9'), b))).toBe('TBIT_REVOKED');
  });
});

describe('loadTrustBundle from a URL (ETag refresh)', () => {
  let body = JSON.stringify({ keys: [pubJwk()] });
  let etag = '"v1"';
  const seen: (string | undefined)[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers['if-none-match']);
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', etag }).end(body);
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('sends If-None-Match, treats 304 as unchanged and 200 as a new bundle', async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
    const b = await loadTrustBundle(url, { ...BIND, allowLoopbackHttp: true });
    expect(ok(rootBy(), b)).toBe(1);
    expect(await b.refresh()).toBe(false);
    expect(seen).toEqual([undefined, '"v1"']);
    const next = keyPair();
    body = JSON.stringify({ keys: [pubJwk(next, 'k2')] });
    etag = '"v2"';
    expect(await b.refresh()).toBe(true);
    expect(ok(rootBy(next, 'k2'), b)).toBe(1);
    expect(codeOf(() => ok(rootBy(), b))).toBe('TBIT_UNKNOWN_KEY');
  });
});

describe('loadTrustBundle refuses oversized documents', () => {
  it('a URL streaming an endless body (no content-length) is cut off at maxBytes', async () => {
    const big = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      // An endless body: only a reader that stops at maxBytes can finish (res.text() would wait forever).
      res.write(`{"keys": [${JSON.stringify(pubJwk())}], "pad": "`);
      const chunk = 'x'.repeat(10_000);
      const pump = () => {
        while (!res.destroyed) if (!res.write(chunk)) return void res.once('drain', pump);
      };
      pump();
    });
    await new Promise<void>((r) => big.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(big.address() as AddressInfo).port}/jwks.json`;
    await expect(
      loadTrustBundle(url, { ...BIND, allowLoopbackHttp: true, maxBytes: 64 * 1024 }),
    ).rejects.toMatchObject({
      code: 'TBIT_TRUST_BUNDLE_INVALID',
    });
    big.closeAllConnections();
    await new Promise<void>((r) => big.close(() => r()));
  });
  it('a file larger than maxBytes is refused before reading', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sigil-trust-big-'));
    const file = join(dir, 'jwks.json');
    writeFileSync(file, JSON.stringify({ keys: [pubJwk()], pad: 'x'.repeat(10_000) }));
    await expect(loadTrustBundle(file, { ...BIND, maxBytes: 1000 })).rejects.toMatchObject({
      code: 'TBIT_TRUST_BUNDLE_INVALID',
    });
  });
});

describe('loadTrustBundle background refresh', () => {
  it('picks up a rotated key by itself and reports a broken update to onError, keeping the last good state', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sigil-trust-bg-'));
    const file = join(dir, 'jwks.json');
    writeFileSync(file, JSON.stringify({ keys: [pubJwk()] }));
    utimesSync(file, 1000, 1000);
    const errors: string[] = [];
    const b = await loadTrustBundle(file, {
      ...BIND,
      refreshIntervalMs: 10,
      onError: (e) => errors.push(e.code),
    });
    const until = async (cond: () => boolean) => {
      for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
      expect(cond()).toBe(true);
    };
    const next = keyPair();
    writeFileSync(file, JSON.stringify({ keys: [pubJwk(next, 'k2')] }));
    utimesSync(file, 2000, 2000);
    await until(() => b.issuerKey(ISS, 'k2') !== undefined);
    expect(ok(rootBy(next, 'k2'), b)).toBe(1);
    writeFileSync(file, 'not json');
    utimesSync(file, 3000, 3000);
    await until(() => errors.length > 0);
    expect(errors[0]).toBe('TBIT_TRUST_BUNDLE_INVALID');
    expect(ok(rootBy(next, 'k2'), b)).toBe(1);
    b.close();
  });
  it('an HTTP error status is TBIT_TRUST_BUNDLE_INVALID', async () => {
    const s = createServer((_req, res) => res.writeHead(500).end('oops'));
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(s.address() as AddressInfo).port}/jwks.json`;
    await expect(loadTrustBundle(url, { ...BIND, allowLoopbackHttp: true })).rejects.toMatchObject({
      code: 'TBIT_TRUST_BUNDLE_INVALID',
    });
    await new Promise<void>((r) => s.close(() => r()));
  });
});
