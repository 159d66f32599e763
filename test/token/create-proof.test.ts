/** createProof: the WPT a holder signs (docs/proof.md §1, §3), checked with the raw JWS bytes and node:crypto. */
import { hash, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createProof, mintRoot, PROOF_HEADER, verifyChain, verifyProof } from '../../src/token/index.js';
import { agent, clockAt, codeOf, keyPair, rootBy, rootOptions, T0, trust } from './helpers.js';

const ROOT = rootOptions();

const holder = keyPair();
const part = (jws: string, i: number) => JSON.parse(Buffer.from(jws.split('.')[i]!, 'base64url').toString());
const h = (s: string) => hash('sha256', s, 'base64url');

describe('createProof', () => {
  it('signs header {alg, typ: wpt+jwt} and the request binding with the holder key', () => {
    const body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"fs.read"}}';
    const jws = createProof({
      token: 'tok.en.x',
      holderPrivateKey: holder.priv,
      method: 'post',
      url: 'HTTP://Example.COM:80/mcp/x?b=2&a=1#frag',
      body,
      nowMs: T0 * 1000 + 999,
      ttlSeconds: 20,
    });
    expect(PROOF_HEADER).toBe('workload-proof-token');
    expect(part(jws, 0)).toEqual({ alg: 'EdDSA', typ: 'wpt+jwt' });
    const c = part(jws, 1);
    expect(c).toMatchObject({
      aud: 'http://example.com/mcp/x',
      htm: 'POST',
      iat: T0,
      exp: T0 + 20,
      wth: h('tok.en.x'),
      'urn:sigil:qth': h('b=2&a=1'),
      'urn:sigil:bth': h(body),
    });
    expect(c.jti).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const [a, b, s] = jws.split('.');
    expect(verify(null, Buffer.from(`${a}.${b}`), holder.pub, Buffer.from(s!, 'base64url'))).toBe(true);
  });

  it('omits the query and body claims when there is none, and draws a fresh jti each time', () => {
    const o = { token: 't', holderPrivateKey: holder.priv, method: 'GET', url: 'https://h:8443/p' };
    const c = part(createProof(o), 1);
    expect(Object.keys(c).sort()).toEqual(['aud', 'exp', 'htm', 'iat', 'jti', 'wth']);
    expect(c.aud).toBe('https://h:8443/p');
    expect(part(createProof(o), 1).jti).not.toBe(c.jti);
    expect(Object.keys(part(createProof({ ...o, body: '' }), 1))).not.toContain('urn:sigil:bth');
  });

  it('refuses a public key, a relative URL, a bad method and an out-of-range lifetime', () => {
    const o = { token: 't', holderPrivateKey: holder.priv, method: 'GET', url: 'http://h/p' };
    expect(codeOf(() => createProof({ ...o, holderPrivateKey: holder.pub }))).toBe('TBIT_ALG_REJECTED');
    expect(codeOf(() => createProof({ ...o, url: '/p' }))).toBe('TBIT_INVALID_CLAIM');
    expect(codeOf(() => createProof({ ...o, method: 'G T' }))).toBe('TBIT_INVALID_CLAIM');
    expect(codeOf(() => createProof({ ...o, ttlSeconds: 301 }))).toBe('TBIT_INVALID_CLAIM');
    expect(codeOf(() => createProof({ ...o, token: '' }))).toBe('TBIT_INVALID_CLAIM');
  });
});

describe('verifyProof', () => {
  const chainOf = (token: string) =>
    verifyChain(token, { trust: trust(), clock: clockAt(T0), audience: agent('x') });
  const req = { method: 'POST', scheme: 'http', authority: 'h:80', path: '/p', query: 'a=1', body: 'b' };
  const opts = (token: string) => ({ chain: chainOf(token), request: req, now: T0, windowS: 60, skewS: 5 });

  it('accepts the proof createProof made, with the default port and case folded', () => {
    const h = keyPair();
    const token = mintRoot({ ...ROOT, holderKey: h.jwk });
    const p = createProof({
      token,
      holderPrivateKey: h.priv,
      method: 'POST',
      url: 'HTTP://H/p?a=1',
      body: 'b',
      nowMs: T0 * 1000,
    });
    expect(verifyProof(p, opts(token))).toMatchObject({ iat: T0, exp: T0 + 30 });
    expect(codeOf(() => verifyProof(p, { ...opts(token), request: { ...req, query: '' } }))).toBe(
      'TBIT_PROOF_MISMATCH',
    );
  });

  it('a token whose leaf has no cnf cannot prove: TBIT_PROOF_INVALID', () => {
    const token = rootBy();
    const p = createProof({
      token,
      holderPrivateKey: keyPair().priv,
      method: 'POST',
      url: 'http://h/p?a=1',
      body: 'b',
      nowMs: T0 * 1000,
    });
    expect(codeOf(() => verifyProof(p, opts(token)))).toBe('TBIT_PROOF_INVALID');
  });
});
