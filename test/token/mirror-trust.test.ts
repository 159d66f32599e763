/**
 * MirrorTrustStore (docs/workers.md §2): a mirror fed with a trust store's snapshots answers issuerKey/isRevoked as
 * the store does, survives structured cloning, refuses malformed and stale snapshots keeping its state, and
 * verifies chains like the source.
 */
import { deserialize, serialize } from 'node:v8';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TrustSnapshot, TrustStore } from '../../src/token/api.js';
import {
  createTrustStore,
  MirrorTrustStore,
  parseTrustSnapshot,
  snapshotTrust,
  verifyChain,
} from '../../src/token/index.js';
import { BIND, clockAt, codeOf, ISS, issuer, KID, keyPair, pubJwk, rootBy, T0, trust } from './helpers.js';

/** Through the process boundary as node:cluster's 'advanced' serialization carries it. */
const clone = <T>(v: T): T => deserialize(serialize(v)) as T;

const ISSUERS = [ISS, 'spiffe://other.mesh/sigil/issuer', 'spiffe://third.mesh/issuer'];
const DOMAINS = ['sigil.mesh', 'other.mesh', 'third.mesh'];
const KIDS = ['k0', 'k1', 'k2', 'k3', 'k4'];
const IDS = ['a', 'b', 'c', 'task-1', 'j9'];
const PAIRS = Array.from({ length: 4 }, keyPair);

/** Every (iss, kid) and every (jti, task) the fixtures can name, answered identically by both stores. */
function expectSameAnswers(source: TrustStore, mirror: TrustStore): void {
  for (const iss of ISSUERS) {
    for (const kid of KIDS) {
      const a = source.issuerKey(iss, kid);
      const b = mirror.issuerKey(iss, kid);
      expect(b === undefined, `${iss} ${kid}`).toBe(a === undefined);
      if (a === undefined || b === undefined) continue;
      expect(b.key.equals(a.key), `${iss} ${kid} key`).toBe(true);
      expect([...b.issuers]).toEqual([...a.issuers]);
      expect([...b.trustDomains]).toEqual([...a.trustDomains]);
    }
  }
  for (const jti of IDS) {
    for (const task_id of IDS) {
      expect(mirror.isRevoked({ jti, task_id }), `${jti} ${task_id}`).toBe(
        source.isRevoked({ jti, task_id }),
      );
    }
  }
}

const trustInput = fc.record({
  keys: fc.uniqueArray(fc.record({ kid: fc.constantFrom(...KIDS), pair: fc.nat(PAIRS.length - 1) }), {
    selector: (k) => k.kid,
    maxLength: KIDS.length,
  }),
  issuers: fc.subarray(ISSUERS, { minLength: 1 }),
  trustDomains: fc.subarray(DOMAINS, { minLength: 1 }),
  jtis: fc.subarray(IDS),
  tasks: fc.subarray(IDS),
});
type TrustInput = typeof trustInput extends fc.Arbitrary<infer T> ? T : never;
const storeInput = (t: TrustInput) => ({
  jwks: { keys: t.keys.map((k) => pubJwk(PAIRS[k.pair], k.kid)) },
  revocations: { jtis: t.jtis, tasks: t.tasks },
  issuers: t.issuers,
  trustDomains: t.trustDomains,
});

describe('MirrorTrustStore', () => {
  it('answers like its source across any sequence of key and revocation updates (property)', () => {
    fc.assert(
      fc.property(trustInput, fc.array(trustInput, { minLength: 1, maxLength: 4 }), (first, updates) => {
        const source = createTrustStore(storeInput(first));
        const mirror = new MirrorTrustStore(clone(snapshotTrust(source)));
        expectSameAnswers(source, mirror);
        for (const u of updates) {
          const before = mirror.version;
          source.update(storeInput(u));
          mirror.apply(clone(source.snapshot()));
          expect(mirror.version).toBe(before + 1);
          expect(mirror.sourceVersion).toBe(source.version);
          expectSameAnswers(source, mirror);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('verifies a chain through the mirror exactly as through the source, and follows a revocation', () => {
    const clock = clockAt(T0);
    const source = trust();
    const mirror = new MirrorTrustStore(clone(source.snapshot()), { clock });
    const token = rootBy(issuer, KID, 'j9');
    const verify = (t: TrustStore) => verifyChain(token, { trust: t, clock });
    expect(verify(mirror).tokenHash).toBe(verify(source).tokenHash);
    expect(codeOf(() => verifyChain(rootBy(PAIRS[0], KID), { trust: mirror, clock }))).toBe(
      'TBIT_BAD_SIGNATURE',
    );
    source.update({ revocations: { tasks: [], jtis: ['j9'] } });
    expect(verify(mirror).depth).toBe(1); // not yet applied
    mirror.apply(clone(source.snapshot()));
    expect(codeOf(() => verify(mirror))).toBe('TBIT_REVOKED');
    expect(codeOf(() => verify(source))).toBe('TBIT_REVOKED');
  });

  it('tells subscribers after a snapshot is applied', async () => {
    const source = trust();
    const mirror = new MirrorTrustStore(source.snapshot());
    let calls = 0;
    const off = mirror.subscribe(() => calls++);
    mirror.apply(source.snapshot());
    mirror.apply(source.snapshot());
    await Promise.resolve();
    expect(calls).toBe(1); // coalesced
    off();
    mirror.apply(source.snapshot());
    await Promise.resolve();
    expect(calls).toBe(1);
  });

  it('a retired own key stops verifying at notAfterMs without a new snapshot', () => {
    const clock = clockAt(T0);
    const snap: TrustSnapshot = {
      format: 'sigil.trust/1',
      version: 1,
      own: { ...BIND, keys: [{ kid: KID, x: issuer.jwk.x, notAfterMs: T0 * 1000 + 10_000 }] },
      sources: [],
      revoked: { jtis: [], tasks: [], all: false },
    };
    const mirror = new MirrorTrustStore(snap, { clock });
    expect(verifyChain(rootBy(), { trust: mirror, clock }).depth).toBe(1);
    clock.advance(10_000);
    expect(codeOf(() => verifyChain(rootBy(), { trust: mirror, clock }))).toBe('TBIT_UNKNOWN_KEY');
  });

  it('a snapshot whose revocation list was unreadable revokes everything (fail closed, as the source)', () => {
    const snap = { ...trust().snapshot(), revoked: { jtis: [], tasks: [], all: true } };
    const mirror = new MirrorTrustStore(snap);
    expect(mirror.isRevoked({ jti: 'x', task_id: 'y' })).toBe(true);
  });
});

describe('snapshot validation (fail closed: the previous state stays)', () => {
  const good = () =>
    clone(trust({ tasks: ['task-1'], jtis: [] }).snapshot()) as unknown as Record<string, unknown>;
  const bad: [string, (s: Record<string, unknown>) => unknown][] = [
    ['not an object', () => 'nope'],
    ['wrong format', (s) => ({ ...s, format: 'sigil.trust/2' })],
    ['negative version', (s) => ({ ...s, version: -1 })],
    ['fractional version', (s) => ({ ...s, version: 1.5 })],
    ['sources not an array', (s) => ({ ...s, sources: {} })],
    ['revoked.all missing', (s) => ({ ...s, revoked: { jtis: [], tasks: [] } })],
    ['a revoked id not a string', (s) => ({ ...s, revoked: { jtis: [1], tasks: [], all: false } })],
    ['an empty revoked id', (s) => ({ ...s, revoked: { jtis: [''], tasks: [], all: false } })],
    ['x not 32 bytes', (s) => withKey(s, { kid: 'k', x: 'AAAA' })],
    ['x not canonical base64url', (s) => withKey(s, { kid: 'k', x: `${'A'.repeat(42)}B` })],
    [
      'a key as a KeyObject',
      () => ({ ...good(), sources: [{ ...BIND, keys: [{ kid: 'k', x: issuer.pub }] }] }),
    ],
    ['a repeated kid', (s) => withKey(s, { kid: KID, x: issuer.jwk.x })],
    ['notAfterMs not an integer', (s) => withKey(s, { kid: 'k', x: issuer.jwk.x, notAfterMs: 'soon' })],
    [
      'an issuer that is not a SPIFFE ID',
      (s) => ({ ...s, sources: [{ ...BIND, issuers: ['issuer'], keys: [] }] }),
    ],
    [
      'a trust domain with a path',
      (s) => ({ ...s, sources: [{ ...BIND, trustDomains: ['a/b'], keys: [] }] }),
    ],
    ['no issuers', (s) => ({ ...s, sources: [{ ...BIND, issuers: [], keys: [] }] })],
  ];
  function withKey(s: Record<string, unknown>, key: object) {
    const [src] = s.sources as { keys: object[] }[];
    return { ...s, sources: [{ ...src, keys: [...(src?.keys ?? []), key] }] };
  }
  for (const [what, make] of bad) {
    it(`refuses ${what} with TBIT_TRUST_SNAPSHOT_INVALID`, () => {
      const mirror = new MirrorTrustStore(good());
      const v = mirror.version;
      expect(codeOf(() => mirror.apply(make(good())))).toBe('TBIT_TRUST_SNAPSHOT_INVALID');
      expect(mirror.version).toBe(v);
      expect(mirror.isRevoked({ jti: 'x', task_id: 'task-1' })).toBe(true);
      expect(mirror.issuerKey(ISS, KID)?.key.equals(issuer.pub)).toBe(true);
      expect(codeOf(() => new MirrorTrustStore(make(good())))).toBe('TBIT_TRUST_SNAPSHOT_INVALID');
    });
  }

  it('refuses an older version with TBIT_TRUST_SNAPSHOT_STALE and keeps the newer state', () => {
    const source = trust();
    const old = clone(source.snapshot());
    source.update({ revocations: { tasks: ['task-1'], jtis: [] } });
    const mirror = new MirrorTrustStore(clone(source.snapshot()));
    expect(codeOf(() => mirror.apply(old))).toBe('TBIT_TRUST_SNAPSHOT_STALE');
    expect(mirror.isRevoked({ jti: 'x', task_id: 'task-1' })).toBe(true);
  });

  it('drops unknown members and keeps a clean copy', () => {
    const s = { ...good(), extra: () => 1 };
    expect(Object.keys(parseTrustSnapshot(s)).sort()).toEqual(['format', 'revoked', 'sources', 'version']);
  });
});
