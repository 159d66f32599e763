/**
 * Token parser DoS inputs, in bulk (outside the default run: `npm run test:slow`). No timing assertions:
 * each case must end in a TbitError with the expected code, without a crash or a hang; the suite timeout
 * is the backstop.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeChain, TbitError, verifyChain } from '../../src/token/index.js';
import { clockAt, codeOf, forgeChild, forgeRoot, trust } from '../token/helpers.js';
import { MALFORMED_TOKENS } from '../token/malformed.js';

const opts = { trust: trust(), clock: clockAt() };
const b64 = (s: string) => Buffer.from(s).toString('base64url');

describe('token DoS inputs', () => {
  it('100 MB of input is refused by the length check alone', () => {
    const huge = 'A'.repeat(100 * 1024 * 1024);
    expect(codeOf(() => verifyChain(huge, opts))).toBe('TBIT_TOO_LARGE');
  });
  it('a million "~" is refused before splitting', () => {
    expect(codeOf(() => verifyChain('~'.repeat(1_000_000), opts))).toBe('TBIT_TOO_LARGE');
  });
  it('the deepest JSON nesting that fits in 16 KiB, in header and payload', () => {
    const n = 5800; // 2n JSON bytes → ~15.5 KB of base64url: just under the 16 KiB cap with the other parts
    const deep = '['.repeat(n) + ']'.repeat(n);
    expect(codeOf(() => verifyChain(`${b64(deep)}.${b64('{}')}.${'A'.repeat(86)}`, opts))).toBe(
      'TBIT_MALFORMED',
    );
    const hdr = b64(JSON.stringify({ alg: 'EdDSA', typ: 'tbit+jwt', kid: 'k' }));
    expect(
      codeOf(() => verifyChain(`${hdr}.${b64(`{"a":${deep.slice(0, -200)}}`)}.${'A'.repeat(86)}`, opts)),
    ).toBe('TBIT_MALFORMED');
  });
  it('ten maximal hops of valid syntax but garbage signatures', () => {
    let t = forgeRoot();
    for (let i = 0; i < 9; i++) t = forgeChild(t);
    expect(verifyChain(t, opts).depth).toBe(10);
    const broken = t
      .split('~')
      .map((h) => `${h.slice(0, h.lastIndexOf('.'))}.${'A'.repeat(86)}`)
      .join('~');
    expect(codeOf(() => verifyChain(broken, opts))).toBe('TBIT_BAD_SIGNATURE');
  });
  it('the shared malformed table, 200 times over (no state leaks between calls)', () => {
    for (let i = 0; i < 200; i++) {
      for (const m of MALFORMED_TOKENS)
        expect(codeOf(() => verifyChain(m.token as string, opts))).toBe(m.code);
    }
  });
  it('100 000 random inputs only ever give TbitError (verify and decode)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 2000, unit: 'binary' }), (s) => {
        for (const f of [() => verifyChain(s, opts), () => decodeChain(s)]) {
          try {
            f();
          } catch (e) {
            if (!(e instanceof TbitError)) throw e;
            continue;
          }
          throw new Error('accepted random input');
        }
      }),
      { numRuns: 100_000 },
    );
  });
  it('cache bounds: 50 000 distinct well-formed headers and SPIFFE IDs do not break later verification', () => {
    for (let i = 0; i < 50_000; i++) {
      const t = forgeRoot({ sub: `spiffe://sigil.mesh/agent/x/${i}` }, { kid: `unknown-${i}` });
      expect(codeOf(() => verifyChain(t, opts))).toBe('TBIT_UNKNOWN_KEY');
    }
    expect(verifyChain(forgeChild(forgeRoot()), opts).depth).toBe(2);
  });
});
