/**
 * Property tests (fast-check): random narrowing chains of depth 1..10 built with delegate() always verify;
 * a random widening forged at a random hop always fails with that rule's code, at that hop.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TbitClaims } from '../../src/token/api.js';
import {
  createTrustStore,
  decodeChain,
  delegate,
  mintRoot,
  parseSpiffeId,
  scopeCovers,
  TbitError,
  verifyChain,
} from '../../src/token/index.js';
import {
  agent,
  clockAt,
  codeOf,
  forgeChild,
  forgeRoot,
  holders,
  ISS,
  issuer,
  KID,
  keyPair,
  T0,
  TD,
  trust,
} from './helpers.js';

const VOCAB = ['read', 'write', 'list', 'x'];

/** A child pattern that the parent pattern `p` covers, picked by `seed`. */
function narrowPattern(p: string, seed: number): string {
  const word = VOCAB[seed % VOCAB.length]!;
  switch ((seed >> 2) % 3) {
    case 0:
      return p;
    case 1:
      if (p === '*') return `fs.${word}`;
      return p.endsWith('.*') ? `${p.slice(0, -1)}${word}` : p;
    default:
      if (p === '*') return 'fs.*';
      return p.endsWith('.*') ? `${p.slice(0, -1)}${word}.*` : p;
  }
}

const step = fc.record({
  scopeSeeds: fc.array(fc.nat(1000), { minLength: 1, maxLength: 3 }),
  expCut: fc.integer({ min: 0, max: 20 }),
  dmaxCut: fc.integer({ min: 0, max: 3 }),
  narrowAud: fc.boolean(),
});

describe('random narrowing chains verify', () => {
  it('depth 1..10, built with delegate()', () => {
    fc.assert(
      fc.property(
        fc.array(step, { minLength: 0, maxLength: 9 }),
        fc.constantFrom<string[]>(['*'], ['fs.*', 'web.search'], ['fs.*', 'db.*', 'mcp:github/issues.*']),
        (steps, rootScope) => {
          const depth = steps.length + 1;
          let token = mintRoot({
            issuerKey: issuer.priv,
            kid: KID,
            iss: ISS,
            sub: agent('h0'),
            aud: TD,
            taskId: 'prop-task',
            toolScope: rootScope,
            ttl: 300,
            holderKey: holders[0]!.jwk,
            clock: clockAt(T0),
          });
          let p: TbitClaims = decodeChain(token)[0]!.claims;
          steps.forEach((s, i) => {
            const dep = i + 2;
            const scope = [
              ...new Set(
                s.scopeSeeds.map((seed) => narrowPattern(p.tool_scope[seed % p.tool_scope.length]!, seed)),
              ),
            ];
            expect(scopeCovers(p.tool_scope, scope)).toBe(true); // the generator narrows, by construction
            token = delegate({
              parentToken: token,
              holderPrivateKey: holders[dep - 2]!.priv,
              sub: agent(`h${dep - 1}`),
              toolScope: scope,
              exp: p.exp - s.expCut,
              dmax: Math.max(depth, p.dmax - s.dmaxCut),
              aud: s.narrowAud ? agent('svc') : p.aud,
              holderKey: holders[dep - 1]!.jwk,
              clock: clockAt(T0 + dep),
            });
            p = decodeChain(token)[dep - 1]!.claims;
          });
          const v = verifyChain(token, { trust: trust(), clock: clockAt(T0 + 20), audience: agent('svc') });
          expect(v.depth).toBe(depth);
          expect(v.leaf.jti).toBe(p.jti);
          expect(v.exp).toBe(p.exp);
        },
      ),
      { numRuns: 150 },
    );
  });
});

type Widening = [
  name: string,
  over: Record<string, unknown>,
  header: Record<string, unknown>,
  code: string,
  bad?: 'signer',
];
const WIDENINGS: Widening[] = [
  ['scope to *', { tool_scope: ['*'] }, {}, 'TBIT_SCOPE_WIDENED'],
  ['scope to a new tool', { tool_scope: ['fs.read', 'shell.exec'] }, {}, 'TBIT_SCOPE_WIDENED'],
  ['exp extended', { exp: T0 + 300 + 7 }, {}, 'TBIT_EXP_EXTENDED'],
  ['task changed', { task_id: 'other-task' }, {}, 'TBIT_TASK_CHANGED'],
  ['dmax widened', { dmax: 11 }, {}, 'TBIT_DEPTH_EXCEEDED'],
  ['aud widened', { aud: 'spiffe://other.mesh' }, {}, 'TBIT_AUDIENCE_WIDENED'],
  ['iss changed', { iss: agent('mallory') }, {}, 'TBIT_ISSUER_MISMATCH'],
  ['iat before parent', { iat: T0 - 1, nbf: T0 - 1 }, {}, 'TBIT_IAT_BEFORE_PARENT'],
  ['par forged', { par: 'A'.repeat(43) }, {}, 'TBIT_PARENT_MISMATCH'],
  ['signed by a stranger', {}, {}, 'TBIT_BAD_SIGNATURE', 'signer'],
];

describe('random widening at a random hop fails with its code', () => {
  it('depth 2..10, widening at hop 1..depth-1', () => {
    const stranger = keyPair().priv;
    fc.assert(
      fc.property(
        fc
          .integer({ min: 2, max: 10 })
          .chain((d) => fc.tuple(fc.constant(d), fc.integer({ min: 1, max: d - 1 }))),
        fc.constantFrom(...WIDENINGS),
        ([depth, k], [, over, header, code, bad]) => {
          let token = forgeRoot({ tool_scope: ['fs.*', 'web.search'] });
          for (let i = 1; i < depth; i++) {
            token =
              i === k
                ? forgeChild(token, over, header, bad === 'signer' ? stranger : undefined)
                : forgeChild(token, i > k ? {} : { tool_scope: ['fs.*'] });
          }
          try {
            verifyChain(token, { trust: trust(), clock: clockAt(T0 + 5) });
          } catch (e) {
            expect(e).toBeInstanceOf(TbitError);
            expect((e as TbitError).code).toBe(code);
            expect((e as TbitError).hop).toBe(k);
            return;
          }
          throw new Error(`widening at hop ${k} of ${depth} was accepted`);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('mint → verify round trip (fast-check)', () => {
  const seg = fc.stringMatching(/^[A-Za-z0-9._-]{1,12}$/).filter((s) => s !== '.' && s !== '..');
  const id = fc
    .tuple(fc.stringMatching(/^[a-z0-9._-]{1,20}$/), fc.array(seg, { maxLength: 4 }))
    .map(([td, p]) => `spiffe://${td}${p.map((x) => `/${x}`).join('')}`);
  const toolSeg = fc.stringMatching(/^[A-Za-z0-9_:/-]{1,10}$/);
  const pattern = fc.oneof(
    fc.constant('*'),
    fc.array(toolSeg, { minLength: 1, maxLength: 3 }).map((s) => s.join('.')),
    fc.array(toolSeg, { minLength: 1, maxLength: 3 }).map((s) => `${s.join('.')}.*`),
  );
  const printable = fc.stringMatching(/^[\x21-\x7e]{1,40}$/);
  it('whatever valid claims go in come back out of verifyChain unchanged', () => {
    fc.assert(
      fc.property(
        id,
        id,
        fc.oneof(id, fc.array(id, { minLength: 1, maxLength: 4 })),
        printable,
        printable,
        fc.array(pattern, { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 10 }),
        (iss, sub, aud, taskId, jti, toolScope, ttl, dmax) => {
          const token = mintRoot({
            issuerKey: issuer.priv,
            kid: KID,
            iss,
            sub,
            aud,
            taskId,
            jti,
            toolScope,
            ttl,
            dmax,
            clock: clockAt(T0),
          });
          const { leaf } = verifyChain(token, {
            // Bound to exactly this root's iss and sub trust domain (the binding is tested on its own below).
            trust: createTrustStore({
              jwks: { keys: [{ ...issuer.jwk, kid: KID }] },
              issuers: [iss],
              trustDomains: [parseSpiffeId(sub).trustDomain],
            }),
            clock: clockAt(T0),
          });
          expect(leaf).toEqual({
            iss,
            sub,
            aud,
            iat: T0,
            nbf: T0,
            exp: T0 + ttl,
            jti,
            task_id: taskId,
            tool_scope: toolScope,
            dep: 1,
            dmax,
          });
        },
      ),
      { numRuns: 300 },
    );
  });
  it('a root verifies only when its iss and sub trust domain are both bound to the key; else the code says which', () => {
    const names = ['a.mesh', 'b.mesh', 'c.mesh'];
    const issOf = (td: string) => `spiffe://${td}/sigil/issuer`;
    fc.assert(
      fc.property(
        fc.constantFrom(...names),
        fc.constantFrom(...names),
        fc.subarray(names, { minLength: 1 }),
        fc.subarray(names, { minLength: 1 }),
        (issTd, subTd, boundIss, boundTd) => {
          const token = mintRoot({
            issuerKey: issuer.priv,
            kid: KID,
            iss: issOf(issTd),
            sub: `spiffe://${subTd}/agent/x/1`,
            aud: `spiffe://${subTd}`,
            taskId: 't',
            toolScope: ['fs.read'],
            ttl: 60,
            clock: clockAt(T0),
          });
          const store = createTrustStore({
            jwks: { keys: [{ ...issuer.jwk, kid: KID }] },
            issuers: boundIss.map(issOf),
            trustDomains: boundTd,
          });
          const run = () => verifyChain(token, { trust: store, clock: clockAt(T0) }).depth;
          if (!boundIss.includes(issTd)) expect(codeOf(run)).toBe('TBIT_ISSUER_NOT_BOUND');
          else if (!boundTd.includes(subTd)) expect(codeOf(run)).toBe('TBIT_TRUST_DOMAIN_NOT_BOUND');
          else expect(run()).toBe(1);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('tamper evidence (fast-check)', () => {
  const good = forgeChild(forgeChild(forgeRoot()));
  const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~';
  it('positive control: the untouched chain verifies', () => {
    expect(verifyChain(good, { trust: trust(), clock: clockAt(T0 + 5) }).depth).toBe(3);
  });
  it('changing any single character anywhere in a valid depth-3 chain is always rejected with a TbitError', () => {
    fc.assert(
      fc.property(fc.nat(good.length - 1), fc.constantFrom(...ALPHABET.split('')), (pos, ch) => {
        if (good[pos] === ch) return;
        const bad = good.slice(0, pos) + ch + good.slice(pos + 1);
        try {
          verifyChain(bad, { trust: trust(), clock: clockAt(T0 + 5) });
        } catch (e) {
          expect(e).toBeInstanceOf(TbitError);
          return;
        }
        throw new Error(`accepted a token changed at ${pos} to ${ch}`);
      }),
      { numRuns: 3000 },
    );
  });
});
