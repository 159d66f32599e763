/**
 * Every chain rule violated on purpose with real Ed25519 keys: at verify time with hand-forged hops signed by
 * the RIGHT key (so only the rule can catch them), and at delegate time (refused before signing).
 * Each forged case has a positive control: the same forge with no override verifies.
 */
import { describe, expect, it } from 'vitest';
import type { VerifyOptions } from '../../src/token/api.js';
import { delegate, mintRoot, verifyChain } from '../../src/token/index.js';
import {
  agent,
  clockAt,
  codeOf,
  forgeChild,
  forgeRoot,
  holders,
  hopHash,
  ISS,
  issuer,
  KID,
  keyPair,
  leafJws,
  T0,
  TD,
  trust,
} from './helpers.js';

const clock = clockAt(T0 + 10);
const v = (token: string, extra: Partial<VerifyOptions> = {}) =>
  verifyChain(token, { trust: trust(), clock, ...extra });

describe('forged chains: positive controls', () => {
  it('a forged root and two forged children with no override verify', () => {
    const t = forgeChild(forgeChild(forgeRoot()));
    expect(v(t).depth).toBe(3);
  });
  it('alg "Ed25519" (RFC 9864) is accepted like "EdDSA"', () => {
    expect(v(forgeChild(forgeRoot({}, { alg: 'Ed25519' }), {}, { alg: 'Ed25519' })).depth).toBe(2);
  });
});

describe('verifyChain denies a forged child that breaks a rule (signed with the right holder key)', () => {
  const root = forgeRoot();
  const cases: [string, () => string, string][] = [
    ['scope widened to *', () => forgeChild(root, { tool_scope: ['*'] }), 'TBIT_SCOPE_WIDENED'],
    ['scope sibling tool', () => forgeChild(root, { tool_scope: ['web.fetch'] }), 'TBIT_SCOPE_WIDENED'],
    ['scope a.* → a', () => forgeChild(root, { tool_scope: ['fs'] }), 'TBIT_SCOPE_WIDENED'],
    [
      'scope prefix trick fs.* → fsx.read',
      () => forgeChild(root, { tool_scope: ['fsx.read'] }),
      'TBIT_SCOPE_WIDENED',
    ],
    ['scope db.query.* → db.*', () => forgeChild(root, { tool_scope: ['db.*'] }), 'TBIT_SCOPE_WIDENED'],
    ['exp extended by 1s', () => forgeChild(root, { iat: T0 + 5, exp: T0 + 301 }), 'TBIT_EXP_EXTENDED'],
    ['task changed', () => forgeChild(root, { task_id: 'task-2' }), 'TBIT_TASK_CHANGED'],
    ['dmax widened', () => forgeChild(forgeRoot({ dmax: 3 }), { dmax: 4 }), 'TBIT_DEPTH_EXCEEDED'],
    ['dep skips a level', () => forgeChild(root, { dep: 3 }), 'TBIT_INVALID_CLAIM'],
    ['dep repeats the parent', () => forgeChild(root, { dep: 1 }), 'TBIT_INVALID_CLAIM'],
    ['iss is not parent sub', () => forgeChild(root, { iss: agent('other') }), 'TBIT_ISSUER_MISMATCH'],
    ['par of another token', () => forgeChild(root, { par: hopHash(forgeRoot()) }), 'TBIT_PARENT_MISMATCH'],
    ['par missing', () => forgeChild(root, { par: undefined }), 'TBIT_PARENT_MISMATCH'],
    [
      'aud widened (agent → trust domain)',
      () => forgeChild(forgeRoot({ aud: agent('svc') }), { aud: TD }),
      'TBIT_AUDIENCE_WIDENED',
    ],
    [
      'aud to another trust domain',
      () => forgeChild(root, { aud: 'spiffe://evil.mesh/agent/x/1' }),
      'TBIT_AUDIENCE_WIDENED',
    ],
    [
      'aud gains an entry',
      () => forgeChild(forgeRoot({ aud: [agent('a')] }), { aud: [agent('a'), agent('b')] }),
      'TBIT_AUDIENCE_WIDENED',
    ],
    [
      'iat before parent',
      () => forgeChild(forgeRoot({ iat: T0 + 5, nbf: T0 + 5 }), { iat: T0 + 4 }),
      'TBIT_IAT_BEFORE_PARENT',
    ],
    ['parent without cnf', () => forgeChild(forgeRoot({ cnf: undefined })), 'TBIT_NOT_DELEGABLE'],
    ['kid is not the parent cnf thumbprint', () => forgeChild(root, {}, { kid: KID }), 'TBIT_UNKNOWN_KEY'],
    [
      'signed by another key under the right kid',
      () => forgeChild(root, {}, {}, keyPair().priv),
      'TBIT_BAD_SIGNATURE',
    ],
    [
      'signed by the issuer instead of the holder',
      () => forgeChild(root, {}, {}, issuer.priv),
      'TBIT_BAD_SIGNATURE',
    ],
    ['child typ JWT', () => forgeChild(root, {}, { typ: 'JWT' }), 'TBIT_TYP_REJECTED'],
    ['child alg HS256', () => forgeChild(root, {}, { alg: 'HS256' }), 'TBIT_ALG_REJECTED'],
    [
      'child carries jwk header',
      () => forgeChild(root, {}, { jwk: holders[5]!.jwk }),
      'TBIT_HEADER_REJECTED',
    ],
    ['hop deeper than dmax', () => forgeChild(forgeChild(forgeRoot({ dmax: 2 }))), 'TBIT_DEPTH_EXCEEDED'],
    ['root claims dep 2', () => forgeRoot({ dep: 2 }), 'TBIT_INVALID_CLAIM'],
    ['root carries par', () => forgeRoot({ par: hopHash('x') }), 'TBIT_INVALID_CLAIM'],
    ['root dmax above max_chain_depth', () => forgeRoot({ dmax: 11 }), 'TBIT_DEPTH_EXCEEDED'],
    ['root lifetime above max_ttl', () => forgeRoot({ exp: T0 + 301 }), 'TBIT_TTL_EXCEEDED'],
    ['root kid unknown', () => forgeRoot({}, { kid: 'nope' }), 'TBIT_UNKNOWN_KEY'],
    [
      'root signed by a trusted key for an iss it is not bound to',
      () => forgeRoot({ iss: 'spiffe://sigil.mesh/evil' }),
      'TBIT_ISSUER_NOT_BOUND',
    ],
    [
      'root signed by a trusted key for a sub outside its trust domains',
      () => forgeRoot({ sub: 'spiffe://other.mesh/agent/h0/i1' }),
      'TBIT_TRUST_DOMAIN_NOT_BOUND',
    ],
    [
      'root naming an unbound iss, forged with another key under the trusted kid',
      () => forgeRoot({ iss: 'spiffe://sigil.mesh/evil' }, {}, keyPair().priv),
      'TBIT_BAD_SIGNATURE',
    ],
    ['root self-signed by an attacker', () => forgeRoot({}, {}, keyPair().priv), 'TBIT_BAD_SIGNATURE'],
    [
      'root payload tampered after signing',
      () => {
        const [h, , s] = root.split('.');
        const p = JSON.parse(Buffer.from(root.split('.')[1]!, 'base64url').toString());
        p.tool_scope = ['*'];
        return `${h}.${Buffer.from(JSON.stringify(p)).toString('base64url')}.${s}`;
      },
      'TBIT_BAD_SIGNATURE',
    ],
    [
      'hop swapped in from another chain',
      () => {
        const other = forgeChild(forgeRoot());
        return `${root}~${leafJws(other)}`;
      },
      'TBIT_PARENT_MISMATCH',
    ],
    [
      'middle hop removed',
      () => {
        const t = forgeChild(forgeChild(root)).split('~');
        return `${t[0]}~${t[2]}`;
      },
      'TBIT_UNKNOWN_KEY',
    ],
    [
      'hops reordered',
      () => {
        const t = forgeChild(root).split('~');
        return `${t[1]}~${t[0]}`;
      },
      'TBIT_UNKNOWN_KEY',
    ],
  ];
  for (const [name, make, code] of cases) {
    it(`${name} → ${code}`, () => {
      expect(codeOf(() => v(make()))).toBe(code);
    });
  }

  it('reports the offending hop index', () => {
    try {
      v(forgeChild(forgeChild(root), { tool_scope: ['*'] }));
    } catch (e) {
      expect((e as { hop?: number }).hop).toBe(2);
      return;
    }
    throw new Error('accepted');
  });

  it('maxChainDepth option below the chain depth → TBIT_DEPTH_EXCEEDED', () => {
    const t = forgeChild(forgeChild(forgeChild(root)));
    expect(v(t).depth).toBe(4);
    expect(codeOf(() => v(t, { maxChainDepth: 3 }))).toBe('TBIT_DEPTH_EXCEEDED');
  });

  it('maxTtl option below a hop lifetime → TBIT_TTL_EXCEEDED', () => {
    expect(codeOf(() => v(root, { maxTtl: 200 }))).toBe('TBIT_TTL_EXCEEDED');
  });
});

describe('revocation', () => {
  const t = forgeChild(forgeChild(forgeRoot({ jti: 'root-jti' }), { jti: 'mid-jti' }), { jti: 'leaf-jti' });
  it('verifies when nothing is revoked', () => {
    expect(v(t, { trust: trust({ tasks: [], jtis: ['unrelated'] }) }).depth).toBe(3);
  });
  for (const [what, rev] of [
    ['root jti', { tasks: [], jtis: ['root-jti'] }],
    ['middle jti', { tasks: [], jtis: ['mid-jti'] }],
    ['leaf jti', { tasks: [], jtis: ['leaf-jti'] }],
    ['task', { tasks: ['task-1'], jtis: [] }],
  ] as const) {
    it(`revoked ${what} → TBIT_REVOKED`, () => {
      expect(codeOf(() => v(t, { trust: trust({ tasks: [...rev.tasks], jtis: [...rev.jtis] }) }))).toBe(
        'TBIT_REVOKED',
      );
    });
  }
  it('revocation takes effect on update() of a live store', () => {
    const store = trust();
    expect(v(t, { trust: store }).depth).toBe(3);
    const before = store.version;
    store.update({ revocations: { tasks: [], jtis: ['mid-jti'] } });
    expect(store.version).toBe(before + 1);
    expect(codeOf(() => v(t, { trust: store }))).toBe('TBIT_REVOKED');
  });
});

describe('audience and tool at the leaf', () => {
  const t = forgeChild(forgeRoot({ aud: TD }), { aud: [agent('svc'), agent('db')] });
  it('a listed audience passes', () => {
    expect(v(t, { audience: agent('db') }).depth).toBe(2);
  });
  it('an unlisted audience → TBIT_AUDIENCE_MISMATCH (403)', () => {
    try {
      v(t, { audience: agent('other') });
    } catch (e) {
      expect(e).toMatchObject({ code: 'TBIT_AUDIENCE_MISMATCH', httpStatus: 403, grpcStatus: 7 });
      return;
    }
    throw new Error('accepted');
  });
  it('a trust-domain aud covers every ID in the domain, and no other domain', () => {
    const r = forgeRoot({ aud: TD });
    expect(v(r, { audience: agent('anything') }).depth).toBe(1);
    expect(codeOf(() => v(r, { audience: 'spiffe://sigil.mesh.evil/agent/x/1' }))).toBe(
      'TBIT_AUDIENCE_MISMATCH',
    );
  });
  it('tool outside the leaf scope → TBIT_TOOL_NOT_IN_SCOPE (403); inside passes', () => {
    const c = forgeChild(forgeRoot(), { tool_scope: ['fs.read'] });
    expect(v(c, { tool: 'fs.read' }).depth).toBe(2);
    expect(codeOf(() => v(c, { tool: 'fs.write' }))).toBe('TBIT_TOOL_NOT_IN_SCOPE');
    // the ROOT allows fs.write; only the leaf counts
    expect(codeOf(() => v(c, { tool: 'fs.write' }))).toBe('TBIT_TOOL_NOT_IN_SCOPE');
    expect(codeOf(() => v(c, { tool: 'fs.*' }))).toBe('TBIT_TOOL_NOT_IN_SCOPE');
  });
});

describe('time rules (frozen clock)', () => {
  const t = forgeChild(forgeRoot(), { iat: T0 + 10, nbf: T0 + 20, exp: T0 + 100 });
  const at =
    (s: number, skew = 0) =>
    () =>
      verifyChain(t, { trust: trust(), clock: clockAt(s), clockSkew: skew });
  it('valid inside [nbf, exp)', () => {
    expect(at(T0 + 20)().depth).toBe(2);
    expect(at(T0 + 99)().depth).toBe(2);
  });
  it('expired at exp exactly (RFC 7519 §4.1.4 "on or after")', () => {
    expect(codeOf(at(T0 + 100))).toBe('TBIT_EXPIRED');
  });
  it('skew extends exp by exactly the skew', () => {
    expect(at(T0 + 104, 5)().depth).toBe(2);
    expect(codeOf(at(T0 + 105, 5))).toBe('TBIT_EXPIRED');
  });
  it('before nbf → TBIT_NOT_YET_VALID, skew allows early use', () => {
    expect(codeOf(at(T0 + 19))).toBe('TBIT_NOT_YET_VALID');
    expect(at(T0 + 15, 5)().depth).toBe(2);
    expect(codeOf(at(T0 + 14, 5))).toBe('TBIT_NOT_YET_VALID');
  });
  it('a root issued in the future → TBIT_NOT_YET_VALID', () => {
    const r = forgeRoot({ iat: T0 + 50, nbf: T0, exp: T0 + 100 });
    expect(codeOf(() => verifyChain(r, { trust: trust(), clock: clockAt(T0 + 10) }))).toBe(
      'TBIT_NOT_YET_VALID',
    );
  });
  it('an expired ROOT fails the whole chain even when the leaf looks fresh', () => {
    // exp ≤ parent exp makes this impossible to forge without breaking EXP_EXTENDED first:
    const c = forgeChild(forgeRoot({ exp: T0 + 50 }), { exp: T0 + 100 });
    expect(codeOf(() => verifyChain(c, { trust: trust(), clock: clockAt(T0 + 60) }))).toBe('TBIT_EXPIRED');
  });
});

describe('delegate refuses before signing', () => {
  const a = holders[0]!;
  const root = mintRoot({
    issuerKey: issuer.priv,
    kid: KID,
    iss: ISS,
    sub: agent('h0'),
    aud: agent('svc'),
    taskId: 'task-1',
    toolScope: ['fs.*', 'web.search'],
    ttl: 300,
    holderKey: a.jwk,
    dmax: 3,
    clock: clockAt(T0),
  });
  const base = {
    parentToken: root,
    holderPrivateKey: a.priv,
    sub: agent('h1'),
    toolScope: ['fs.read'],
    holderKey: holders[1]!.jwk,
    clock: clockAt(T0 + 10),
  };
  const d = (over: Record<string, unknown>) => () => delegate({ ...base, ...over });

  it('positive control: the base delegation verifies, with defaults inherited', () => {
    const c = verifyChain(delegate(base), {
      trust: trust(),
      clock: clockAt(T0 + 10),
      audience: agent('svc'),
    });
    expect(c.leaf).toMatchObject({ iat: T0 + 10, exp: T0 + 300, dmax: 3, dep: 2, aud: agent('svc') });
  });
  const cases: [string, Record<string, unknown>, string][] = [
    ['scope widened', { toolScope: ['*'] }, 'TBIT_SCOPE_WIDENED'],
    ['scope sibling', { toolScope: ['web.fetch'] }, 'TBIT_SCOPE_WIDENED'],
    ['empty scope', { toolScope: [] }, 'TBIT_INVALID_CLAIM'],
    ['bad pattern', { toolScope: ['fs.*.x'] }, 'TBIT_INVALID_CLAIM'],
    ['exp extended', { exp: T0 + 301 }, 'TBIT_EXP_EXTENDED'],
    ['ttl past parent exp', { ttl: 295 }, 'TBIT_EXP_EXTENDED'],
    ['ttl above maxTtl', { ttl: 150, maxTtl: 100 }, 'TBIT_TTL_EXCEEDED'],
    ['aud widened', { aud: TD }, 'TBIT_AUDIENCE_WIDENED'],
    ['dmax widened', { dmax: 4 }, 'TBIT_DEPTH_EXCEEDED'],
    ['dmax below the new depth', { dmax: 1 }, 'TBIT_DEPTH_EXCEEDED'],
    ['maxChainDepth reached', { maxChainDepth: 1 }, 'TBIT_DEPTH_EXCEEDED'],
    ['wrong holder key', { holderPrivateKey: holders[3]!.priv }, 'TBIT_HOLDER_KEY_MISMATCH'],
    ['public key given as holder key', { holderPrivateKey: a.pub }, 'TBIT_ALG_REJECTED'],
    ['invalid child SPIFFE ID', { sub: 'spiffe://sigil.mesh/agent/../root' }, 'TBIT_INVALID_SPIFFE_ID'],
    ['upper-case trust domain', { sub: 'spiffe://Sigil.mesh/agent/x/1' }, 'TBIT_INVALID_SPIFFE_ID'],
    ['expired parent', { clock: clockAt(T0 + 300) }, 'TBIT_EXPIRED'],
    [
      'child holder key with a bad x',
      { holderKey: { ...holders[1]!.jwk, x: 'short' } },
      'TBIT_INVALID_CLAIM',
    ],
  ];
  for (const [name, over, code] of cases) {
    it(`${name} → ${code}`, () => {
      expect(codeOf(d(over))).toBe(code);
    });
  }
  it('not delegable: a root minted without holderKey', () => {
    const dead = mintRoot({
      issuerKey: issuer.priv,
      kid: KID,
      iss: ISS,
      sub: agent('h0'),
      aud: TD,
      taskId: 't',
      toolScope: ['*'],
      ttl: 60,
      clock: clockAt(T0),
    });
    expect(codeOf(d({ parentToken: dead }))).toBe('TBIT_NOT_DELEGABLE');
  });
  it('depth: dmax 3 allows exactly 3 hops', () => {
    const two = delegate(base);
    const three = delegate({
      ...base,
      parentToken: two,
      holderPrivateKey: holders[1]!.priv,
      sub: agent('h2'),
      holderKey: holders[2]!.jwk,
    });
    expect(verifyChain(three, { trust: trust(), clock: clockAt(T0 + 10) }).depth).toBe(3);
    expect(
      codeOf(() =>
        delegate({ ...base, parentToken: three, holderPrivateKey: holders[2]!.priv, sub: agent('h3') }),
      ),
    ).toBe('TBIT_DEPTH_EXCEEDED');
  });
  it('a parent chain with a broken delegated hop is refused (signature checked, root trust not needed)', () => {
    const bad = forgeChild(forgeRoot({}, {}, keyPair().priv), {}, {}, keyPair().priv);
    expect(codeOf(d({ parentToken: bad, holderPrivateKey: holders[1]!.priv }))).toBe('TBIT_BAD_SIGNATURE');
    // ...while an untrusted root alone does not stop delegation (the verifier decides trust)
    const untrusted = forgeRoot({}, {}, keyPair().priv);
    expect(delegate({ ...base, parentToken: untrusted }).split('~')).toHaveLength(2);
  });
  it('a child whose clock is behind the parent iat gets the parent iat (never IAT_BEFORE_PARENT)', () => {
    expect(codeOf(d({ clock: clockAt(T0 - 30) }))).toBe('TBIT_NOT_YET_VALID'); // parent not valid yet, no skew
    const c = delegate({ ...base, clock: clockAt(T0 - 30), clockSkew: 60 });
    const leaf = verifyChain(c, { trust: trust(), clock: clockAt(T0) }).leaf;
    expect(leaf.iat).toBe(T0);
  });
  it('refuses to build a chain over 16 KiB → TBIT_TOO_LARGE', () => {
    const big = Array.from({ length: 64 }, (_, i) => `tool${i}.${'x'.repeat(100)}`);
    const r = mintRoot({
      issuerKey: issuer.priv,
      kid: KID,
      iss: ISS,
      sub: agent('h0'),
      aud: TD,
      taskId: 't',
      toolScope: big,
      ttl: 60,
      holderKey: a.jwk,
      clock: clockAt(T0),
    });
    expect(r.length).toBeLessThan(16 * 1024);
    expect(codeOf(() => delegate({ ...base, parentToken: r, toolScope: big }))).toBe('TBIT_TOO_LARGE');
  });
});

describe('mintRoot refuses bad input', () => {
  const ok = {
    issuerKey: issuer.priv,
    kid: KID,
    iss: ISS,
    sub: agent('h0'),
    aud: TD,
    taskId: 't',
    toolScope: ['fs.read'],
    ttl: 60,
    clock: clockAt(T0),
  };
  const cases: [string, Record<string, unknown>, string][] = [
    ['ttl above max_ttl', { ttl: 301 }, 'TBIT_TTL_EXCEEDED'],
    ['ttl 0', { ttl: 0 }, 'TBIT_INVALID_CLAIM'],
    ['dmax above max depth', { dmax: 11 }, 'TBIT_DEPTH_EXCEEDED'],
    ['bad sub', { sub: 'spiffe://sigil.mesh/a/' }, 'TBIT_INVALID_SPIFFE_ID'],
    ['bad iss', { iss: 'issuer' }, 'TBIT_INVALID_SPIFFE_ID'],
    ['bad aud', { aud: ['spiffe://sigil.mesh:443/x'] }, 'TBIT_INVALID_SPIFFE_ID'],
    ['bad task id', { taskId: 'has space' }, 'TBIT_INVALID_CLAIM'],
    ['public key as issuer key', { issuerKey: issuer.pub }, 'TBIT_ALG_REJECTED'],
    ['empty kid', { kid: '' }, 'TBIT_HEADER_REJECTED'],
  ];
  for (const [name, over, code] of cases) {
    it(`${name} → ${code}`, () => {
      expect(codeOf(() => mintRoot({ ...ok, ...over } as Parameters<typeof mintRoot>[0]))).toBe(code);
    });
  }
  it('positive control verifies', () => {
    expect(verifyChain(mintRoot(ok), { trust: trust(), clock: clockAt(T0) }).depth).toBe(1);
  });
});
