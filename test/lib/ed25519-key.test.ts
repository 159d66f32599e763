/**
 * Ed25519 keys from a seed (src/lib/ed25519-key.ts): the PKCS #8 layout against RFC 8032's test vectors, and
 * fresh keys that sign and verify. The deadlock this module avoids is exercised in test/slow/keygen-export.
 */
import { createPublicKey, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ed25519FromSeed, generateEd25519 } from '../../src/lib/ed25519-key.js';

// RFC 8032 §7.1 TEST 1 and TEST 2: secret key (the seed), public key, message, signature.
const VECTORS = [
  {
    seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    pub: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    msg: '',
    sig: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    pub: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    msg: '72',
    sig: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
];

describe('ed25519FromSeed', () => {
  it.each(VECTORS)('RFC 8032 §7.1 vector: public key and signature of seed $seed', (v) => {
    const seed = Buffer.from(v.seed, 'hex');
    const { privateKey, publicKey } = ed25519FromSeed(seed);
    const jwk = publicKey.export({ format: 'jwk' }) as { kty: string; crv: string; x: string };
    expect(jwk).toEqual({ kty: 'OKP', crv: 'Ed25519', x: Buffer.from(v.pub, 'hex').toString('base64url') });
    const priv = privateKey.export({ format: 'jwk' }) as { d: string };
    expect(Buffer.from(priv.d, 'base64url').toString('hex')).toBe(v.seed);
    expect(sign(null, Buffer.from(v.msg, 'hex'), privateKey).toString('hex')).toBe(v.sig);
    // The caller's seed is not touched (only the internal DER copy is wiped).
    expect(seed.toString('hex')).toBe(v.seed);
  });

  it('refuses a seed that is not 32 bytes', () => {
    expect(() => ed25519FromSeed(new Uint8Array(31))).toThrow(RangeError);
    expect(() => ed25519FromSeed(new Uint8Array(33))).toThrow(RangeError);
  });
});

describe('generateEd25519', () => {
  it('gives distinct key pairs whose signatures verify under their public key only', () => {
    const a = generateEd25519();
    const b = generateEd25519();
    const xa = (a.publicKey.export({ format: 'jwk' }) as { x: string }).x;
    const xb = (b.publicKey.export({ format: 'jwk' }) as { x: string }).x;
    expect(xa).not.toBe(xb);
    expect(Buffer.from(xa, 'base64url')).toHaveLength(32);
    expect(a.privateKey.asymmetricKeyType).toBe('ed25519');
    expect(a.privateKey.type).toBe('private');
    expect((createPublicKey(a.privateKey).export({ format: 'jwk' }) as { x: string }).x).toBe(xa);
    const msg = Buffer.from('task-bound');
    const sig = sign(null, msg, a.privateKey);
    expect(verify(null, msg, a.publicKey, sig)).toBe(true);
    expect(verify(null, msg, b.publicKey, sig)).toBe(false);
  });
});
