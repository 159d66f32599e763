import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeChain, delegate, TbitError, verifyChain } from '../../src/token/index.js';
import { clockAt, codeOf, issuer, trust } from './helpers.js';
import { MALFORMED_TOKENS } from './malformed.js';

const opts = { trust: trust(), clock: clockAt() };

describe('shared malformed-token table', () => {
  it('has unique names', () => {
    expect(new Set(MALFORMED_TOKENS.map((m) => m.name)).size).toBe(MALFORMED_TOKENS.length);
  });

  for (const m of MALFORMED_TOKENS) {
    it(`verifyChain rejects: ${m.name} → ${m.code}`, () => {
      expect(codeOf(() => verifyChain(m.token as string, opts))).toBe(m.code);
    });
    if (m.parse) {
      it(`decodeChain rejects: ${m.name} → ${m.code}`, () => {
        expect(codeOf(() => decodeChain(m.token as string))).toBe(m.code);
      });
    }
    it(`delegate refuses it as a parent: ${m.name}`, () => {
      // delegate skips the root's trust, so a key-only failure may surface as another code; it must still refuse.
      codeOf(() =>
        delegate({
          parentToken: m.token as string,
          holderPrivateKey: issuer.priv,
          sub: 'spiffe://sigil.mesh/agent/x/2',
          toolScope: ['fs.read'],
          clock: opts.clock,
        }),
      );
    });
  }
});

describe('fuzz: arbitrary input only ever yields a TbitError', () => {
  const only = (t: string) => {
    try {
      verifyChain(t, opts);
    } catch (e) {
      if (e instanceof TbitError) return;
      throw e;
    }
    throw new Error(`accepted ${JSON.stringify(t)}`);
  };
  it('random strings', () => {
    fc.assert(fc.property(fc.string({ maxLength: 400, unit: 'binary' }), only), { numRuns: 2000 });
  });
  it('random base64url dot/tilde soup', () => {
    const ch = fc.constantFrom(...'AZaz09-_.~'.split(''), 'eyJ', 'e30', 'fQ');
    fc.assert(
      fc.property(
        fc.array(ch, { maxLength: 300 }).map((a) => a.join('')),
        only,
      ),
      { numRuns: 2000 },
    );
  });
  it('random JSON header and payload objects', () => {
    const seg = fc
      .jsonValue({ maxDepth: 4 })
      .map((v) => Buffer.from(JSON.stringify(v)).toString('base64url'));
    fc.assert(
      fc.property(seg, seg, fc.uint8Array({ minLength: 0, maxLength: 70 }), (h, p, s) =>
        only(`${h}.${p}.${Buffer.from(s).toString('base64url')}`),
      ),
      { numRuns: 1000 },
    );
  });
});
