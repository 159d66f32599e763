/**
 * `sigil.authz.workers` (docs/authz.md §12): validated with the key's name, `auto` follows the CPU budget, and
 * the features workers cannot mirror yet are refused naming both keys. The trust a worker decides with is a
 * snapshot of the primary's real stores (keys on disk, revocation file): a chain verifies, or is refused, through
 * the mirror exactly as through the source, across a rotation and a revocation.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { openIssuerStores } from '../../src/issuer/index.js';
import { MirrorTrustStore, snapshotTrust } from '../../src/serve/workers/trust-mirror.js';
import { workersFromConfig } from '../../src/serve/workers/workers-from-config.js';
import { mintRoot, verifyChain } from '../../src/token/index.js';
import { AGENT, cleanupDirs, codeOf, ISSUER_ID, tempDir, testOptions } from '../issuer/helpers.js';

afterAll(cleanupDirs);

const load = (authz: Record<string, unknown>, more: Record<string, unknown> = {}) =>
  loadConfig({ env: {}, overrides: { authz, ...more } });

describe('sigil.authz.workers', () => {
  it('defaults to 1 (the single-process path); takes 2..64 and auto', () => {
    expect(load({}).authz.workers).toBe(1);
    expect(workersFromConfig(load({}))).toBe(1);
    expect(workersFromConfig(load({ workers: 4, proof: 'off' }))).toBe(4);
    expect(workersFromConfig(load({ workers: 'auto', proof: 'off' }), () => 3)).toBe(3);
    expect(workersFromConfig(load({ workers: 'auto', proof: 'off' }), () => 1)).toBe(1);
    expect(workersFromConfig(load({ workers: 'auto', proof: 'off' }), () => 200)).toBe(64);
  });

  it.each([0, 65, 1.5, 'many', -1])('%j → CONFIG_INVALID naming sigil.authz.workers', (v) => {
    let err: unknown;
    try {
      load({ workers: v });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toMatchObject({ code: 'CONFIG_INVALID' });
    expect((err as Error).message).toContain('sigil.authz.workers');
  });

  it.each([
    [{ proof: 'when_present' }, {}, 'sigil.authz.proof'],
    [
      { proof: 'off', proof_overrides: [{ tools: ['fs.*'], mode: 'require' }] },
      {},
      'sigil.authz.proof_overrides',
    ],
    [{ proof: 'off' }, { policy: { bundle: '/etc/sigil/bundle.tar.gz' } }, 'sigil.policy.bundle'],
    [
      { proof: 'off' },
      {
        validator: {
          trust_bundles: [
            { source: '/etc/a.json', issuers: ['spiffe://a.mesh/sigil/issuer'], trust_domains: ['a.mesh'] },
          ],
        },
      },
      'sigil.validator.trust_bundles',
    ],
  ])('workers: 2 with %j %j → CONFIG_INVALID naming both keys', (authz, more, key) => {
    const config = load({ workers: 2, ...authz }, more);
    expect(codeOf(() => workersFromConfig(config))).toBe('CONFIG_INVALID');
    expect(() => workersFromConfig(config)).toThrow(/sigil\.authz\.workers.*/);
    expect(() => workersFromConfig(config)).toThrow(key);
  });
});

describe('MirrorTrustStore from a snapshot of the real stores', () => {
  it('verifies and refuses exactly like the source across a rotation and a revocation', async () => {
    const dir = tempDir();
    const options = testOptions(dir);
    const stores = await openIssuerStores(options, { watch: false });
    const binding = { issuers: [options.issuerId], trustDomains: [options.trustDomain] };
    const mirror = new MirrorTrustStore();
    const mint = (task: string) => {
      const s = stores.keys.issuer.signer();
      return mintRoot({
        issuerKey: s.privateKey,
        kid: s.kid,
        iss: ISSUER_ID,
        sub: AGENT,
        aud: 'spiffe://sigil.mesh',
        taskId: task,
        toolScope: ['fs.read'],
        ttl: 60,
      });
    };
    const outcome = (token: string, trust: typeof stores.trust) => {
      try {
        return verifyChain(token, { trust, audience: 'spiffe://sigil.mesh' }).leaf.task_id;
      } catch (e) {
        return (e as { code: string }).code;
      }
    };
    const same = (token: string) => expect(outcome(token, mirror)).toBe(outcome(token, stores.trust));

    const first = mint('a');
    // Before any snapshot the mirror knows no key and counts every hop revoked (fail closed).
    expect(outcome(first, mirror)).toBe('TBIT_UNKNOWN_KEY');
    expect(mirror.isRevoked({ jti: 'x', task_id: 'y' })).toBe(true);
    mirror.apply(snapshotTrust(stores, binding));
    same(first);
    expect(outcome(first, mirror)).toBe('a');

    await stores.keys.issuer.rotate();
    const second = mint('b');
    expect(outcome(second, mirror)).toBe('TBIT_UNKNOWN_KEY');
    const v = mirror.version;
    mirror.apply(snapshotTrust(stores, binding));
    expect(mirror.version).toBeGreaterThan(v);
    same(first);
    same(second);

    await stores.revocations.revoke({ task: 'a' });
    mirror.apply(snapshotTrust(stores, binding));
    same(first);
    expect(outcome(first, mirror)).toBe('TBIT_REVOKED');
    same(second);
    stores.close();
  });

  it('refuses a malformed or older snapshot and keeps the one in force', async () => {
    const dir = tempDir();
    const options = testOptions(dir);
    const stores = await openIssuerStores(options, { watch: false });
    stores.keys.issuer.signer();
    const snap = snapshotTrust(stores, { issuers: [options.issuerId], trustDomains: [options.trustDomain] });
    const mirror = new MirrorTrustStore();
    mirror.apply({ ...snap, version: snap.version + 5 });
    const kid = snap.keys[0]!.kid;
    expect(mirror.issuerKey(ISSUER_ID, kid)).toBeDefined();
    expect(codeOf(() => mirror.apply({ ...snap, keys: [] }))).toBe('WORKERS_BAD_MESSAGE');
    expect(
      codeOf(() => mirror.apply({ ...snap, version: snap.version + 6, revokedJtis: [1] as never })),
    ).toBe('WORKERS_BAD_MESSAGE');
    expect(
      codeOf(() =>
        mirror.apply({
          ...snap,
          version: snap.version + 6,
          keys: [{ kid, kty: 'OKP', crv: 'Ed25519', x: '!' }],
        }),
      ),
    ).toBe('WORKERS_BAD_MESSAGE');
    expect(mirror.issuerKey(ISSUER_ID, kid)).toBeDefined();
    expect(mirror.appliedVersion).toBe(snap.version + 5);
    stores.close();
  });
});
