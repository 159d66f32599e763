/** The error contract: every code documented, mapped to the right protocol status, and options validated. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SigilError } from '../../src/lib/errors.js';
import { decodeChain, delegate, TBIT_ERROR_CODES, TbitError, verifyChain } from '../../src/token/index.js';
import { agent, clockAt, codeOf, forgeChild, forgeRoot, holders, T0, TD, trust } from './helpers.js';

describe('TbitError', () => {
  it('is a SigilError carrying code, statuses and hop', () => {
    const e = new TbitError('TBIT_EXPIRED', 'x', 2);
    expect(e).toBeInstanceOf(SigilError);
    expect(e).toMatchObject({
      code: 'TBIT_EXPIRED',
      hop: 2,
      httpStatus: 401,
      grpcStatus: 16,
      name: 'TbitError',
    });
    expect(e.toJSON()).toEqual({ error: 'hop 2: x', code: 'TBIT_EXPIRED' });
  });
  it('maps insufficient_scope codes to 403/PERMISSION_DENIED, trust-data failures to 503, the rest to 401', () => {
    for (const code of TBIT_ERROR_CODES) {
      const e = new TbitError(code, 'x');
      if (code === 'TBIT_AUDIENCE_MISMATCH' || code === 'TBIT_TOOL_NOT_IN_SCOPE') {
        expect([e.httpStatus, e.grpcStatus]).toEqual([403, 7]);
      } else if (/^TBIT_TRUST_(BUNDLE_INVALID|SOURCE_REFUSED|SNAPSHOT_INVALID|SNAPSHOT_STALE)$/.test(code)) {
        expect([e.httpStatus, e.grpcStatus]).toEqual([503, 14]);
      } else {
        expect([e.httpStatus, e.grpcStatus], code).toEqual([401, 16]);
      }
    }
  });
  it('every code is documented in docs/tbit.md §7', () => {
    const doc = readFileSync(new URL('../../docs/tbit.md', import.meta.url), 'utf8');
    const table = doc.slice(doc.indexOf('## 7. Error codes'), doc.indexOf('## 8.'));
    for (const code of TBIT_ERROR_CODES) expect(table, code).toContain(`| \`${code}\` |`);
  });
});

describe('option validation', () => {
  const t = forgeRoot();
  for (const [opt, val] of [
    ['maxChainDepth', 0],
    ['maxChainDepth', 11],
    ['maxChainDepth', 2.5],
    ['maxTtl', 0],
    ['clockSkew', -1],
  ] as const) {
    it(`verifyChain refuses ${opt}=${val}`, () => {
      expect(codeOf(() => verifyChain(t, { trust: trust(), clock: clockAt(), [opt]: val }))).toBe(
        'TBIT_INVALID_CLAIM',
      );
    });
  }
  it('an invalid audience option is refused, not matched', () => {
    expect(codeOf(() => verifyChain(t, { trust: trust(), clock: clockAt(), audience: 'svc' }))).toBe(
      'TBIT_INVALID_SPIFFE_ID',
    );
  });
  it('an invalid tool option never matches', () => {
    expect(codeOf(() => verifyChain(t, { trust: trust(), clock: clockAt(), tool: 'fs.*' }))).toBe(
      'TBIT_TOOL_NOT_IN_SCOPE',
    );
  });
});

describe('decodeChain narrowing report', () => {
  it('reports scope, aud, exp, dmax and the end of delegation per hop', () => {
    const chain = delegate({
      parentToken: forgeChild(forgeRoot({ dmax: 5 })),
      holderPrivateKey: holders[1]!.priv,
      sub: agent('h2'),
      toolScope: ['fs.read'],
      aud: agent('fs'),
      exp: T0 + 200,
      dmax: 3,
      clock: clockAt(T0 + 1),
    });
    const hops = decodeChain(chain);
    expect(hops.map((h) => h.claims.dep)).toEqual([1, 2, 3]);
    expect(hops[0]!.narrowed).toBeUndefined();
    expect(hops[1]!.narrowed).toEqual({ summary: [] });
    expect(hops[2]!.narrowed).toEqual({
      scope: { from: ['fs.*', 'web.search', 'db.query.*'], to: ['fs.read'] },
      aud: { from: [TD], to: [agent('fs')] },
      exp: { from: T0 + 300, to: T0 + 200 },
      dmax: { from: 5, to: 3 },
      delegationEnded: true,
      summary: [
        'scope fs.*,web.search,db.query.* → fs.read',
        `aud ${TD} → ${agent('fs')}`,
        'exp −100s',
        'dmax 5 → 3',
        'no further delegation',
      ],
    });
    expect(hops[2]!.claims.par).toBe(hops[1]!.hash);
  });
  it('decodes chains verifyChain would reject (it is not a verifier)', () => {
    const forged = forgeChild(forgeRoot(), { tool_scope: ['*'] });
    expect(decodeChain(forged)).toHaveLength(2);
    expect(codeOf(() => verifyChain(forged, { trust: trust(), clock: clockAt() }))).toBe(
      'TBIT_SCOPE_WIDENED',
    );
  });
});

describe('a caller-supplied TrustStore that throws', () => {
  const t = forgeRoot();
  const base = trust();
  it('issuerKey throwing → TBIT_TRUST_BUNDLE_INVALID, never a foreign exception', () => {
    const broken = {
      ...base,
      version: 1,
      issuerKey: () => {
        throw new Error('db down');
      },
      isRevoked: base.isRevoked,
    };
    expect(codeOf(() => verifyChain(t, { trust: broken, clock: clockAt() }))).toBe(
      'TBIT_TRUST_BUNDLE_INVALID',
    );
  });
  it('isRevoked throwing → TBIT_TRUST_BUNDLE_INVALID (denied, not allowed)', () => {
    const broken = {
      version: 1,
      issuerKey: (iss: string, kid: string) => base.issuerKey(iss, kid),
      isRevoked: () => {
        throw new TypeError('boom');
      },
    };
    expect(codeOf(() => verifyChain(t, { trust: broken, clock: clockAt() }))).toBe(
      'TBIT_TRUST_BUNDLE_INVALID',
    );
  });
});
