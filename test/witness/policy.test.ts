/** c2sp.org/tlog-policy files: parsing rules and quorum evaluation (src/witness/witness-policy.ts). */
import { describe, expect, it } from 'vitest';
import { noteSigner } from '../../src/ledger/index.js';
import { generateEd25519 } from '../../src/lib/ed25519-key.js';
import { cosigner, parseWitnessPolicy, quorumMet, thresholdPolicy } from '../../src/witness/index.js';

const wk = (name: string) => cosigner(name, generateEd25519().privateKey).vkey;
const X = ['x1', 'x2', 'x3'].map((n) => wk(`x.example/${n}`));
const Y = ['y1', 'y2', 'y3'].map((n) => wk(`y.example/${n}`));
const LOG = noteSigner('example.com/log', generateEd25519().privateKey).verifierKey;

/** The spec's example policy (§Example policy) with real keys. */
const EXAMPLE = `log ${LOG}

witness X1 ${X[0]}
witness X2 ${X[1]}
witness X3 ${X[2]}
group X-witnesses 2 X1 X2 X3

  # a comment, then Y with a URL
witness Y1 ${Y[0]} https://y.example/w1
witness Y2 ${Y[1]}
witness Y3 ${Y[2]}
group Y-witnesses any Y1 Y2 Y3

group X-and-Y all X-witnesses Y-witnesses
quorum X-and-Y
`;

describe('tlog-policy', () => {
  it('parses the spec example and evaluates nested thresholds', () => {
    const p = parseWitnessPolicy(EXAMPLE);
    expect(p.logs).toHaveLength(1);
    expect(p.witnesses.map((w) => w.name)).toEqual(['X1', 'X2', 'X3', 'Y1', 'Y2', 'Y3']);
    expect(p.witnesses[3]?.url).toBe('https://y.example/w1');
    const met = (...keys: string[]) => quorumMet(p, new Set(keys));
    expect(met(X[0]!, X[1]!, Y[2]!)).toBe(true);
    expect(met(X[0]!, X[1]!, X[2]!)).toBe(false); // no Y
    expect(met(X[0]!, Y[0]!, Y[1]!)).toBe(false); // one X
    expect(quorumMet(parseWitnessPolicy('quorum none\n'), new Set())).toBe(true);
  });

  it('k of n', () => {
    const p = thresholdPolicy(X, 2);
    expect(quorumMet(p, new Set([X[2]!]))).toBe(false);
    expect(quorumMet(p, new Set([X[2]!, X[0]!]))).toBe(true);
  });

  it.each([
    ['witness A x', /line 1: bad cosigner key/],
    [`witness A ${X[0]}\nwitness B ${X[0]}\nquorum A`, /line 2: duplicate key/],
    [`witness A ${X[0]}\nwitness A ${X[1]}\nquorum A`, /line 2: "A" is already defined/],
    [`witness A ${X[0]}\ngroup G 2 A\nquorum G`, /line 2: threshold must be all, any or 1\.\.1/],
    [`witness A ${X[0]}\ngroup G any A A\nquorum G`, /line 2: a member is listed twice/],
    [`group G any A\nwitness A ${X[0]}\nquorum G`, /line 1: "A" is not a witness or group defined above/],
    [`witness A ${X[0]}\nquorum A\nquorum A`, /line 3: a second quorum line/],
    [`witness A ${X[0]}\n`, /no quorum line/],
    [`witness A ${X[0]}\nquorum B`, /line 2: quorum must name/],
    [`log ${X[0]}\nquorum none`, /line 1: bad verifier key/],
    ['quorum none\r\n', /control characters/],
    ['frobnicate\nquorum none', /line 1: unknown keyword "frobnicate"/],
  ])('refuses %j', (text, message) => {
    expect(() => parseWitnessPolicy(text)).toThrow(
      expect.objectContaining({ code: 'WITNESS_BAD_REQUEST', message: expect.stringMatching(message) }),
    );
  });
});
