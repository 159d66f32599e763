/** Interop with jose and known-answer vectors from RFC 8037 (A.1 key, A.3 thumbprint, A.4 JWS). */
import { createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, sign } from 'node:crypto';
import * as jose from 'jose';
import { describe, expect, it } from 'vitest';
import { createTrustStore, delegate, jwkThumbprint, mintRoot, publicJwkOf } from '../../src/token/index.js';
import { signCompactJws, verifyCompactJws } from '../../src/token/lib/jws.js';
import { agent, BIND, clockAt, codeOf, holders, ISS, issuer, KID, keyPair, T0, TD } from './helpers.js';

/** RFC 8037 Appendix A.1. */
const A1 = {
  kty: 'OKP',
  crv: 'Ed25519',
  d: 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A',
  x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo',
} as const;
/** RFC 8037 Appendix A.4: JWS of "Example of Ed25519 signing" with {"alg":"EdDSA"}. */
const A4 =
  'eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg';

describe('RFC 8037 known answers', () => {
  const pub = createPublicKey({ key: { kty: A1.kty, crv: A1.crv, x: A1.x }, format: 'jwk' });
  const priv = createPrivateKey({ key: { ...A1 }, format: 'jwk' });

  it('A.4 verifies through our JWS layer', () => {
    const { header, payload } = verifyCompactJws(A4, pub);
    expect(header).toEqual({ alg: 'EdDSA' });
    expect(payload.toString()).toBe('Example of Ed25519 signing');
  });
  it('A.4 is reproduced by our signer (Ed25519 is deterministic, RFC 8032 §5.1.6)', () => {
    expect(signCompactJws({ alg: 'EdDSA' }, {}, priv).split('.')[0]).toBe('eyJhbGciOiJFZERTQSJ9');
    // signCompactJws JSON-encodes payloads, so re-sign the exact A.4 input directly:
    const input = A4.slice(0, A4.lastIndexOf('.'));
    expect(sign(null, Buffer.from(input), priv).toString('base64url')).toBe(A4.split('.')[2]);
  });
  it('A.4 with one flipped signature bit, payload byte or another key fails', () => {
    const [h, p, s] = A4.split('.') as [string, string, string];
    const sig = Buffer.from(s, 'base64url');
    sig[0]! ^= 1;
    expect(codeOf(() => verifyCompactJws(`${h}.${p}.${sig.toString('base64url')}`, pub))).toBe(
      'TBIT_BAD_SIGNATURE',
    );
    const other = Buffer.from('Example of Ed25519 signinG').toString('base64url');
    expect(codeOf(() => verifyCompactJws(`${h}.${other}.${s}`, pub))).toBe('TBIT_BAD_SIGNATURE');
    expect(codeOf(() => verifyCompactJws(A4, keyPair().pub))).toBe('TBIT_BAD_SIGNATURE');
  });
  it('A.3 thumbprint of the A.1 key', () => {
    expect(jwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: A1.x })).toBe(
      'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k',
    );
  });
  it('publicJwkOf(private A.1 key) gives the A.1 public JWK without d', () => {
    expect(publicJwkOf(priv)).toEqual({ kty: 'OKP', crv: 'Ed25519', x: A1.x });
  });
  it('publicJwkOf refuses a non-Ed25519 key', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(codeOf(() => publicJwkOf(ec.privateKey))).toBe('TBIT_INVALID_CLAIM');
  });
});

describe('jose interop', () => {
  const jwks = { keys: [{ ...issuer.jwk, kid: KID, alg: 'EdDSA', use: 'sig' }] };
  const root = mintRoot({
    issuerKey: issuer.priv,
    kid: KID,
    iss: ISS,
    sub: agent('planner'),
    aud: TD,
    taskId: 'task-1',
    toolScope: ['fs.*'],
    ttl: 300,
    holderKey: holders[0]!.jwk,
    clock: clockAt(T0),
  });

  it('a root TBIT verifies with plain jose.jwtVerify and the issuer JWKS', async () => {
    const { payload, protectedHeader } = await jose.jwtVerify(root, jose.createLocalJWKSet(jwks), {
      issuer: ISS,
      audience: TD,
      typ: 'tbit+jwt',
      algorithms: ['EdDSA'],
      currentDate: new Date((T0 + 1) * 1000),
    });
    expect(protectedHeader).toEqual({ alg: 'EdDSA', typ: 'tbit+jwt', kid: KID });
    expect(payload.sub).toBe(agent('planner'));
    expect(payload.tool_scope).toEqual(['fs.*']);
  });
  it('jose rejects a root signed by another key (the interop test can fail)', async () => {
    const bad = mintRoot({
      issuerKey: keyPair().priv,
      kid: KID,
      iss: ISS,
      sub: agent('planner'),
      aud: TD,
      taskId: 't',
      toolScope: ['fs.*'],
      ttl: 300,
      clock: clockAt(T0),
    });
    await expect(
      jose.jwtVerify(bad, jose.createLocalJWKSet(jwks), { currentDate: new Date((T0 + 1) * 1000) }),
    ).rejects.toThrow();
  });
  it('every hop of a chain is a standard JWS that jose.compactVerify accepts with the right key', async () => {
    const chain = delegate({
      parentToken: root,
      holderPrivateKey: holders[0]!.priv,
      sub: agent('coder'),
      toolScope: ['fs.read'],
      clock: clockAt(T0 + 1),
    });
    const child = chain.split('~')[1]!;
    const key = await jose.importJWK({ ...holders[0]!.jwk }, 'EdDSA');
    const r = await jose.compactVerify(child, key);
    expect(r.protectedHeader.kid).toBe(await jose.calculateJwkThumbprint(holders[0]!.jwk, 'sha256'));
  });
  it('jwkThumbprint equals jose.calculateJwkThumbprint for random keys', async () => {
    for (let i = 0; i < 20; i++) {
      const k = keyPair().jwk;
      expect(jwkThumbprint(k)).toBe(await jose.calculateJwkThumbprint(k, 'sha256'));
    }
  });
  it('publicJwkOf equals jose.exportJWK (public members) for random private and public keys', async () => {
    for (let i = 0; i < 20; i++) {
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      const { kty, crv, x } = await jose.exportJWK(publicKey);
      expect(publicJwkOf(privateKey)).toEqual({ kty, crv, x });
      expect(publicJwkOf(publicKey)).toEqual({ kty, crv, x });
    }
  });
  it('a JWKS imports to the same keys as jose.importJWK, and stays stricter than jose', async () => {
    const ks = Array.from({ length: 5 }, () => keyPair());
    const store = createTrustStore({
      jwks: { keys: ks.map((k, i) => ({ ...k.jwk, kid: `k${i}`, use: 'sig', alg: 'EdDSA' })) },
      ...BIND,
    });
    for (const [i, k] of ks.entries()) {
      const viaJose = KeyObject.from((await jose.importJWK({ ...k.jwk }, 'EdDSA')) as jose.CryptoKey);
      expect(store.issuerKey(ISS, `k${i}`)?.key.equals(viaJose)).toBe(true);
    }
    // jose imports a private JWK for verification; a trust bundle holding one is refused outright.
    const { privateKey } = generateKeyPairSync('ed25519');
    const priv = privateKey.export({ format: 'jwk' });
    await expect(jose.importJWK({ ...priv }, 'EdDSA')).resolves.toBeDefined();
    expect(codeOf(() => createTrustStore({ jwks: { keys: [{ ...priv, kid: 'p' }] }, ...BIND }))).toBe(
      'TBIT_TRUST_BUNDLE_INVALID',
    );
  });
});
