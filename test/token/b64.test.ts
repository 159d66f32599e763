import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { b64urlDecode as b64urlDecodeStrict, b64urlEncode, sha256 } from '../../src/lib/bytes.js';
import { assertEd25519PublicJwk } from '../../src/token/lib/keys.js';

/** Reference decoder: strict by re-encoding (a canonical encoding must survive the round trip). */
function b64urlDecode(s: string): Buffer | null {
  if (!/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) return null;
  const out = Buffer.from(s, 'base64url');
  return out.toString('base64url') === s ? out : null;
}

describe('b64urlEncode (src/lib/bytes.ts)', () => {
  it("agrees with Buffer's base64url on bytes of every length around the JS encoder's limit, and on text", () => {
    for (let n = 0; n <= 70; n++) {
      const b = Uint8Array.from({ length: n }, (_, i) => (i * 97 + n * 31 + 255) % 256);
      expect(b64urlEncode(b), `length ${n}`).toBe(Buffer.from(b).toString('base64url'));
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (b) => {
        expect(b64urlEncode(b)).toBe(Buffer.from(b).toString('base64url'));
      }),
      { numRuns: 5000 },
    );
    expect(b64urlEncode('héllo')).toBe(Buffer.from('héllo', 'utf8').toString('base64url'));
  });
});

describe('b64urlDecode (src/lib/bytes.ts, the hot-path decoder)', () => {
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
  it('sha256 matches the FIPS 180-2 "abc" vector (bytes, base64url and hex)', () => {
    // SHA-256("abc") = ba7816bf 8f01cfea 414140de 5dae2223 b00361a3 96177a9c b410ff61 f20015ad
    const abc = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    expect(Buffer.from(sha256('abc', 'base64url'), 'base64url').toString('hex')).toBe(abc);
    expect(sha256('abc').toString('hex')).toBe(abc);
    expect(sha256(Buffer.from('abc'), 'hex')).toBe(abc);
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
