import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeChain, delegate, jwkThumbprint, mintRoot, verifyChain } from '../../src/token/index.js';
import { agent, clockAt, codeOf, ISS, issuer, KID, keyPair, T0, trust } from './helpers.js';

describe('mint → delegate → verify', () => {
  const clock = clockAt();
  const a = keyPair();
  const b = keyPair();
  const root = mintRoot({
    issuerKey: issuer.priv,
    kid: KID,
    iss: ISS,
    sub: agent('planner'),
    aud: 'spiffe://sigil.mesh',
    taskId: 'task-1',
    toolScope: ['fs.*', 'web.search'],
    ttl: 300,
    holderKey: a.jwk,
    clock,
  });

  it('verifies a root token', () => {
    const v = verifyChain(root, { trust: trust(), clock, audience: agent('x'), tool: 'fs.read' });
    expect(v.depth).toBe(1);
    expect(v.leaf.sub).toBe(agent('planner'));
    expect(v.leaf.exp).toBe(T0 + 300);
    expect(v.hops[0]?.header).toEqual({ alg: 'EdDSA', typ: 'tbit+jwt', kid: KID });
  });

  it('verifies a delegated chain and reports narrowing', () => {
    const child = delegate({
      parentToken: root,
      holderPrivateKey: a.priv,
      sub: agent('coder'),
      toolScope: ['fs.read'],
      ttl: 60,
      holderKey: b.jwk,
      clock,
    });
    const v = verifyChain(child, { trust: trust(), clock, audience: agent('coder'), tool: 'fs.read' });
    expect(v.depth).toBe(2);
    expect(v.hops[1]?.header.kid).toBe(jwkThumbprint(a.jwk));
    expect(v.leaf.par).toBe(v.hops[0]?.hash);
    expect(v.tokenHash).toBe(createHash('sha256').update(child).digest('base64url'));
    expect(v.hops[1]?.hash).toBe(createHash('sha256').update(child.split('~')[1]!).digest('base64url'));
    expect(JSON.parse(JSON.stringify(v)).tokenHash).toBe(v.tokenHash);
    expect(v.leaf.iss).toBe(agent('planner'));
    expect(codeOf(() => verifyChain(child, { trust: trust(), clock, tool: 'fs.write' }))).toBe(
      'TBIT_TOOL_NOT_IN_SCOPE',
    );
    const d = decodeChain(child);
    expect(d[1]?.narrowed?.summary).toEqual(['scope fs.*,web.search → fs.read', 'exp −240s']);
  });

  it('refuses widening at delegate time', () => {
    expect(
      codeOf(() =>
        delegate({ parentToken: root, holderPrivateKey: a.priv, sub: agent('c'), toolScope: ['*'], clock }),
      ),
    ).toBe('TBIT_SCOPE_WIDENED');
  });
});

describe('token size', () => {
  it('a depth-10 chain with realistic claims fits the 16 KiB cap (size printed)', () => {
    const clock = clockAt();
    const keys = Array.from({ length: 10 }, keyPair);
    let t = mintRoot({
      issuerKey: issuer.priv,
      kid: KID,
      iss: ISS,
      sub: agent('h0'),
      aud: 'spiffe://sigil.mesh',
      taskId: 'task-2026-0001',
      toolScope: ['fs.*', 'web.search', 'mcp:github/issues.*'],
      ttl: 300,
      holderKey: keys[0]!.jwk,
      clock,
    });
    const sizes = [t.length];
    for (let d = 2; d <= 10; d++) {
      t = delegate({
        parentToken: t,
        holderPrivateKey: keys[d - 2]!.priv,
        sub: agent(`h${d - 1}`),
        toolScope: ['fs.*'],
        holderKey: keys[d - 1]!.jwk,
        clock,
      });
      sizes.push(t.length);
    }
    console.log(`TBIT size by depth (bytes): ${sizes.join(', ')}`);
    expect(verifyChain(t, { trust: trust(), clock }).depth).toBe(10);
    expect(sizes[9]).toBeLessThan(16 * 1024);
    // an 11th hop is refused by the depth rule long before the size cap matters
    expect(
      codeOf(() =>
        delegate({
          parentToken: t,
          holderPrivateKey: keys[9]!.priv,
          sub: agent('h10'),
          toolScope: ['fs.*'],
          clock,
        }),
      ),
    ).toBe('TBIT_DEPTH_EXCEEDED');
  });
});
