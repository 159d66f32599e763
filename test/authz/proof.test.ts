/**
 * Proof of possession in the Check path (docs/proof.md): every bad-proof case denies with its stable code,
 * a good proof allows once, and the ledger records whether a proof was presented and verified.
 */
import { describe, expect, it } from 'vitest';
import { AuthzError } from '../../src/authz/errors.js';
import { extractRequest } from '../../src/authz/extract-request.js';
import { createProofCheck } from '../../src/authz/index.js';
import { createProof, verifyChain } from '../../src/token/index.js';
import { checkRequest, okOf } from '../support/check-request.js';
import { agentId, keyPair } from '../support/identity.js';
import {
  claimsOf,
  codeOfResponse,
  forgeHs256,
  forgeNone,
  forgeProof,
  mcpRequest,
  proofSetup,
  T0_MS,
  urlOf,
  withProof,
} from '../support/proof.js';

function world(authz: Record<string, unknown> = {}) {
  const s = proofSetup(authz);
  const { token, holder } = s.id.mint({ scope: ['fs.*', 'shell.*'] });
  const req = mcpRequest('fs.read');
  const proofFor = (p = req, o: Partial<Parameters<typeof createProof>[0]> = {}) =>
    createProof({
      token,
      holderPrivateKey: holder.priv,
      method: p.method ?? 'POST',
      url: urlOf(p),
      ...(p.body !== undefined ? { body: p.body } : {}),
      nowMs: s.clock.nowMs(),
      ...o,
    });
  const run = async (p: typeof req, proof?: string, tok = token) =>
    codeOfResponse(await s.check(withProof(p, tok, proof)));
  return { ...s, token, holder, req, proofFor, run };
}

describe('proof of possession: a good proof', () => {
  it('allows once, records pop=verified, strips the proof header with the token', async () => {
    const w = world();
    const res = await w.check(withProof(w.req, w.token, w.proofFor()));
    expect(okOf(res)?.headersToRemove).toEqual(
      expect.arrayContaining(['authorization', 'workload-proof-token']),
    );
    expect(w.records.at(-1)).toMatchObject({ decision: 'allow', pop: 'verified' });
  });

  it('binds the query: the same query allows, GET with no body has no body hash', async () => {
    const w = world({ routes: [{ method: 'GET', path: '/files/**', tool: 'fs.read' }] });
    const get = { method: 'GET', path: '/files/a?x=1&y=2', host: 'agent.local' };
    expect(await w.run(get, w.proofFor(get))).toBe('OK');
    const other = { ...get, path: '/files/a?y=2&x=1' };
    expect(await w.run(other, w.proofFor(get))).toBe('AUTHZ_PROOF_MISMATCH');
    const none = { ...get, path: '/files/a' };
    expect(await w.run(none, w.proofFor(get))).toBe('AUTHZ_PROOF_MISMATCH');
    expect(await w.run(get, w.proofFor(none))).toBe('AUTHZ_PROOF_MISMATCH');
  });

  it('when_present (default): no proof → decided as before, pop=absent', async () => {
    const w = world();
    expect(await w.run(w.req)).toBe('OK');
    expect(w.records.at(-1)).toMatchObject({ decision: 'allow', pop: 'absent' });
  });
});

describe('proof of possession: every bad proof is denied with its code', () => {
  it('missing under require → 401 AUTHZ_PROOF_MISSING, pop=rejected', async () => {
    const w = world({ proof: 'require' });
    expect(await w.run(w.req)).toBe('AUTHZ_PROOF_MISSING');
    expect(w.records.at(-1)).toMatchObject({ decision: 'deny', http_status: 401, pop: 'rejected' });
    expect(await w.run(w.req, '   ')).toBe('AUTHZ_PROOF_MISSING');
  });

  it('wrong method, path, host, port, scheme → AUTHZ_PROOF_MISMATCH', async () => {
    const w = world();
    const p = w.proofFor(w.req);
    expect(await w.run({ ...w.req, method: 'PUT' }, p)).toBe('AUTHZ_PROOF_MISMATCH');
    expect(await w.run({ ...w.req, path: '/mcp/x' }, p)).toBe('AUTHZ_PROOF_MISMATCH');
    expect(await w.run({ ...w.req, host: 'other.local' }, p)).toBe('AUTHZ_PROOF_MISMATCH');
    expect(await w.run({ ...w.req, host: 'agent.local:8080' }, p)).toBe('AUTHZ_PROOF_MISMATCH');
    const https = w.proofFor(w.req, { url: 'https://agent.local/mcp' });
    expect(await w.run(w.req, https)).toBe('AUTHZ_PROOF_MISMATCH');
  });

  it('wrong body (another tool call, or one byte more) → AUTHZ_PROOF_MISMATCH', async () => {
    const w = world();
    const p = w.proofFor(w.req);
    expect(await w.run(mcpRequest('shell.exec'), p)).toBe('AUTHZ_PROOF_MISMATCH');
    expect(await w.run({ ...w.req, body: `${w.req.body} ` }, w.proofFor())).toBe('AUTHZ_PROOF_MISMATCH');
    expect(await w.run(w.req, w.proofFor(w.req, { body: '' }))).toBe('AUTHZ_PROOF_MISMATCH');
  });

  it('a proof for another token of the same holder (wth) → AUTHZ_PROOF_MISMATCH', async () => {
    const w = world();
    const other = w.id.mint({ scope: ['fs.*'], holder: w.holder, task: 'task-2' }).token;
    expect(await w.run(w.req, w.proofFor(w.req, { token: other }))).toBe('AUTHZ_PROOF_MISMATCH');
  });

  it('signed by another key (a stolen token without its key) → AUTHZ_PROOF_INVALID', async () => {
    const w = world();
    const thief = keyPair();
    expect(await w.run(w.req, w.proofFor(w.req, { holderPrivateKey: thief.priv }))).toBe(
      'AUTHZ_PROOF_INVALID',
    );
  });

  it('iat too old, iat in the future, exp passed, lifetime too long → AUTHZ_PROOF_EXPIRED', async () => {
    const w = world({ proof_window_s: 60 });
    // skew is validator.clock_skew (default 5 s)
    expect(await w.run(w.req, w.proofFor(w.req, { nowMs: T0_MS - 66_000, ttlSeconds: 300 }))).toBe(
      'AUTHZ_PROOF_EXPIRED',
    );
    expect(await w.run(w.req, w.proofFor(w.req, { nowMs: T0_MS - 64_000, ttlSeconds: 300 }))).toBe('OK');
    expect(await w.run(w.req, w.proofFor(w.req, { nowMs: T0_MS + 6_000 }))).toBe('AUTHZ_PROOF_EXPIRED');
    expect(await w.run(w.req, w.proofFor(w.req, { nowMs: T0_MS - 20_000, ttlSeconds: 10 }))).toBe(
      'AUTHZ_PROOF_EXPIRED',
    );
    const c = claimsOf(w.proofFor());
    const long = forgeProof(
      { alg: 'EdDSA', typ: 'wpt+jwt' },
      { ...c, exp: (c.iat as number) + 301 },
      w.holder.priv,
    );
    expect(await w.run(w.req, long)).toBe('AUTHZ_PROOF_EXPIRED');
  });

  it('the same proof twice (replayed jti) → AUTHZ_PROOF_REPLAYED; a fresh proof passes', async () => {
    const w = world();
    const p = w.proofFor();
    expect(await w.run(w.req, p)).toBe('OK');
    expect(await w.run(w.req, p)).toBe('AUTHZ_PROOF_REPLAYED');
    expect(w.records.at(-1)).toMatchObject({
      code: 'AUTHZ_PROOF_REPLAYED',
      pop: 'rejected',
      http_status: 401,
    });
    expect(await w.run(w.req, w.proofFor())).toBe('OK');
    // The same jti on a different request is still a replay once the first was spent.
    const jti = claimsOf(p).jti as string;
    const get = mcpRequest('fs.write');
    expect(await w.run(get, w.proofFor(get, { jti }))).toBe('AUTHZ_PROOF_REPLAYED');
  });

  it('alg none, HS256 keyed with the public key, typ confusion, key-naming headers → AUTHZ_PROOF_INVALID', async () => {
    const w = world();
    const c = claimsOf(w.proofFor());
    const fresh = () => ({ ...c, jti: `${Math.random().toString(36).slice(2)}-jti-padding` });
    expect(await w.run(w.req, forgeNone(fresh()))).toBe('AUTHZ_PROOF_INVALID');
    expect(await w.run(w.req, forgeHs256(fresh(), w.holder.jwk.x))).toBe('AUTHZ_PROOF_INVALID');
    for (const typ of ['tbit+jwt', 'dpop+jwt', 'JWT', undefined]) {
      const h = typ === undefined ? { alg: 'EdDSA' } : { alg: 'EdDSA', typ };
      expect(await w.run(w.req, forgeProof(h, fresh(), w.holder.priv)), String(typ)).toBe(
        'AUTHZ_PROOF_INVALID',
      );
    }
    // typ is a media type: case-insensitive, with or without application/ (RFC 7515 §4.1.9).
    expect(
      await w.run(w.req, forgeProof({ alg: 'EdDSA', typ: 'application/WPT+JWT' }, fresh(), w.holder.priv)),
    ).toBe('OK');
    // The TBIT itself is not a proof (it is a tbit+jwt signed by the issuer).
    expect(await w.run(w.req, w.token.split('~')[0]!)).toBe('AUTHZ_PROOF_INVALID');
    const thief = keyPair();
    const withJwk = forgeProof({ alg: 'EdDSA', typ: 'wpt+jwt', jwk: thief.jwk }, fresh(), thief.priv);
    expect(await w.run(w.req, withJwk)).toBe('AUTHZ_PROOF_INVALID');
    const withKid = forgeProof({ alg: 'EdDSA', typ: 'wpt+jwt', kid: 'x' }, fresh(), w.holder.priv);
    expect(await w.run(w.req, withKid)).toBe('AUTHZ_PROOF_INVALID');
  });

  it('malformed proofs, unknown claims (tth, oth) and missing claims → AUTHZ_PROOF_INVALID', async () => {
    const w = world();
    const c = claimsOf(w.proofFor());
    let n = 0;
    const sign = (claims: object) =>
      forgeProof(
        { alg: 'EdDSA', typ: 'wpt+jwt' },
        { ...claims, jti: `jti-${n++}-0123456789abcdef` },
        w.holder.priv,
      );
    for (const bad of ['', 'x', 'a.b.c', `${w.proofFor()}.x`, 'ey.ey.ey']) {
      if (bad !== '') expect(await w.run(w.req, bad), bad).toBe('AUTHZ_PROOF_INVALID');
    }
    expect(await w.run(w.req, sign({ ...c, tth: c.wth }))).toBe('AUTHZ_PROOF_INVALID');
    expect(await w.run(w.req, sign({ ...c, oth: { 'x-a': c.wth } }))).toBe('AUTHZ_PROOF_INVALID');
    for (const k of ['aud', 'htm', 'iat', 'exp', 'wth']) {
      const { [k]: _, ...rest } = c;
      expect(await w.run(w.req, sign(rest)), k).toBe('AUTHZ_PROOF_INVALID');
    }
    expect(await w.run(w.req, sign({ ...c, iat: String(c.iat) }))).toBe('AUTHZ_PROOF_INVALID');
    expect(await w.run(w.req, sign({ ...c, wth: 'short' }))).toBe('AUTHZ_PROOF_INVALID');
    expect(
      await w.run(w.req, forgeProof({ alg: 'EdDSA', typ: 'wpt+jwt' }, { ...c, jti: 'short' }, w.holder.priv)),
    ).toBe('AUTHZ_PROOF_INVALID');
    // A sane control: the same signer with the claims unchanged passes.
    expect(await w.run(w.req, sign(c))).toBe('OK');
  });
});

describe('proof modes and overrides', () => {
  it('a tool override requires a proof for shell.* only', async () => {
    const w = world({ proof_overrides: [{ tools: ['shell.*'], mode: 'require' }] });
    expect(await w.run(mcpRequest('shell.exec'))).toBe('AUTHZ_PROOF_MISSING');
    const sh = mcpRequest('shell.exec');
    expect(await w.run(sh, w.proofFor(sh))).toBe('OK');
    expect(await w.run(w.req)).toBe('OK');
  });

  it('a path override, and the strictest matching override wins', async () => {
    const w = world({
      proof: 'off',
      proof_overrides: [
        { paths: ['/admin/**'], mode: 'require' },
        { tools: ['fs.*'], mode: 'off' },
      ],
      routes: [{ method: 'POST', path: '/admin/**', tool: 'fs.write' }],
    });
    const admin = { ...mcpRequest('fs.write'), path: '/admin/x' };
    expect(await w.run(admin)).toBe('AUTHZ_PROOF_MISSING');
    expect(await w.run(admin, w.proofFor(admin))).toBe('OK');
    expect(await w.run(w.req)).toBe('OK');
  });

  it('off ignores the header, even a bad one, and records no pop', async () => {
    const w = world({ proof: 'off' });
    expect(await w.run(w.req, 'garbage')).toBe('OK');
    expect(w.records.at(-1)?.pop).toBeUndefined();
  });

  it('an invalid override pattern is a config error naming the key', () => {
    expect(() => proofSetup({ proof_overrides: [{ paths: ['no-slash'], mode: 'require' }] })).toThrow(
      /sigil\.authz\.proof_overrides/,
    );
    expect(() => proofSetup({ proof_overrides: [{ mode: 'require' }] })).toThrow(/proof_overrides/);
    // Tool patterns follow a token's tool_scope rules: a typo is refused, not left matching nothing.
    for (const tools of [['shell.**'], ['sh ell'], ['*.exec'], ['']])
      expect(() => proofSetup({ proof_overrides: [{ tools, mode: 'require' }] }), tools[0]).toThrow(
        /sigil\.authz\.proof_overrides\.0\.tools\.0/,
      );
    expect(() => proofSetup({ proof: 'always' })).toThrow(/proof/);
  });
});

describe('replay cache bound', () => {
  it('full of live entries → AUTHZ_PROOF_CACHE_FULL (503), never evicts; expired entries make room', async () => {
    const w = world();
    const step = createProofCheck({ mode: 'require', windowS: 60, skewS: 5, maxEntries: 2 });
    const chain = verifyChain(w.token, { trust: w.id.trust, clock: w.clock, audience: agentId('local') });
    const view = extractRequest(withProof(w.req, w.token, undefined), 1 << 20);
    const run = (proof: string) => {
      const v = { ...view, headers: { ...view.headers, 'workload-proof-token': proof } };
      try {
        return step(v, chain, ['fs.read'], w.clock.nowMs());
      } catch (e) {
        return (e as AuthzError).code;
      }
    };
    const first = w.proofFor(w.req, { ttlSeconds: 10 });
    expect(run(first)).toBe('verified');
    expect(run(w.proofFor(w.req, { ttlSeconds: 10 }))).toBe('verified');
    expect(step.cacheSize).toBe(2);
    expect(run(w.proofFor())).toBe('AUTHZ_PROOF_CACHE_FULL');
    expect(new AuthzError('AUTHZ_PROOF_CACHE_FULL', 'x').httpStatus).toBe(503);
    expect(run(first)).toBe('AUTHZ_PROOF_REPLAYED');
    w.clock.advance(16_000); // past exp + skew of both entries
    expect(run(w.proofFor())).toBe('verified');
    expect(step.cacheSize).toBe(1);
  });
});

describe('request view', () => {
  it('carries the scheme and the raw query Envoy sent', () => {
    const v = extractRequest(checkRequest({ path: '/a?x=%20y#f' }), 10);
    expect([v.scheme, v.path, v.query]).toEqual(['http', '/a', 'x=%20y']);
  });
});
