import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { b64urlDecode } from '../../src/lib/bytes.js';
import { b64urlDecodeStrict, sha256b64url } from '../../src/token/lib/b64.js';
import { assertEd25519PublicJwk } from '../../src/token/lib/keys.js';

describe('b64urlDecodeStrict (hot-path decoder)', () => {
  it('agrees with the re-encoding reference decoder on arbitrary strings', () => {
    const alphabet = fc.constantFrom(
      ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/='.split(''),
    );
    fc.assert(
      fc.property(fc.array(alphabet, { minLength: 1, maxLength: 12 }), (chars) => {
        const s = chars.join('');
        const ref = b64urlDecode(s);
        const got = b64urlDecodeStrict(s);
        expect(got === null ? null : got.toString('hex')).toBe(ref === null ? null : ref.toString('hex'));
      }),
      { numRuns: 20000 },
    );
  });
  it('round-trips random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 100 }), (b) => {
        expect(b64urlDecodeStrict(Buffer.from(b).toString('base64url'))?.equals(Buffer.from(b))).toBe(true);
      }),
    );
  });
  it('rejects non-canonical trailing bits, padding and 4n+1 lengths', () => {
    expect(b64urlDecodeStrict('QQ')?.toString()).toBe('A');
    expect(b64urlDecodeStrict('QR')).toBeNull();
    expect(b64urlDecodeStrict('QUI')?.toString()).toBe('AB');
    expect(b64urlDecodeStrict('QUJ')).toBeNull();
    expect(b64urlDecodeStrict('QQ==')).toBeNull();
    expect(b64urlDecodeStrict('QUJDR')).toBeNull();
    expect(b64urlDecodeStrict('')).toBeNull();
  });
  it('sha256b64url matches the FIPS 180-2 "abc" vector', () => {
    // SHA-256("abc") = ba7816bf 8f01cfea 414140de 5dae2223 b00361a3 96177a9c b410ff61 f20015ad
    expect(Buffer.from(sha256b64url('abc'), 'base64url').toString('hex')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });
});

describe('cnf.jwk.x check without decoding', () => {
  it('accepts exactly the 43-char strings that decode canonically to 32 bytes', () => {
    const alphabet = fc.constantFrom(
      ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+='.split(''),
    );
    const fail = (w: string) => new Error(w);
    fc.assert(
      fc.property(fc.array(alphabet, { minLength: 41, maxLength: 45 }), (chars) => {
        const x = chars.join('');
        let ok = true;
        try {
          assertEd25519PublicJwk({ kty: 'OKP', crv: 'Ed25519', x }, 'jwk', fail);
        } catch {
          ok = false;
        }
        expect(ok).toBe(b64urlDecode(x)?.length === 32);
      }),
      { numRuns: 20000 },
    );
  });
});
