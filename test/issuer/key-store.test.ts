import { createPublicKey } from 'node:crypto';
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { calculateJwkThumbprint, createLocalJWKSet, jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { openIssuerStores, openKeyStores } from '../../src/issuer/open-stores.js';
import { frozenClock } from '../../src/lib/clock.js';
import { mintRoot, verifyChain } from '../../src/token/index.js';
import { AGENT, cleanupDirs, codeOf, ISSUER_ID, T0_MS, tempDir, testOptions } from './helpers.js';

afterEach(cleanupDirs);

const HOUR = 3600;

function open(dataDir: string, clock = frozenClock(T0_MS)) {
  return { clock, ks: openKeyStores({ dataDir, rotationInterval: HOUR, maxTtl: 300, clockSkew: 5, clock }) };
}

describe('key store files', () => {
  it('generates a key on first use with kid = RFC 7638 thumbprint, files 0600 in a 0700 dir', async () => {
    const dir = tempDir();
    const { ks } = open(dir);
    expect(ks.issuer.jwks().keys).toHaveLength(0);
    const s = ks.issuer.signer();
    expect(s.kid).toBe(
      await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: s.publicJwk.x }, 'sha256'),
    );
    expect(statSync(join(dir, 'keys')).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'keys', 'issuer')).mode & 0o777).toBe(0o700);
    // An existing data dir keeps its own mode (it may be the user's project dir); a new one is made 0700.
    expect(statSync(dir).mode & 0o777).toBe(0o700); // mkdtemp makes 0700 itself
    const shared = tempDir();
    chmodSync(shared, 0o755);
    openKeyStores({ dataDir: shared, rotationInterval: HOUR, maxTtl: 300, clockSkew: 5 });
    expect(statSync(shared).mode & 0o777).toBe(0o755);
    expect(statSync(join(shared, 'keys')).mode & 0o777).toBe(0o700);
    const fresh = join(shared, 'new-data');
    openKeyStores({ dataDir: fresh, rotationInterval: HOUR, maxTtl: 300, clockSkew: 5 });
    expect(statSync(fresh).mode & 0o700).toBe(0o700);
    expect(statSync(fresh).mode & 0o077).toBe(0);
    const file = join(dir, 'keys', 'issuer', `${s.kid}.jwk.json`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    expect(doc.kid).toBe(s.kid);
    expect(doc.created_at).toBe(new Date(T0_MS).toISOString());
    // The JWKS never leaks the private part.
    expect(JSON.stringify(ks.issuer.jwks())).not.toContain(doc.jwk.d);
    expect(ks.issuer.jwks().keys).toEqual([
      { kty: 'OKP', crv: 'Ed25519', x: s.publicJwk.x, kid: s.kid, use: 'sig', alg: 'EdDSA' },
    ]);
    // Same key on the next call (no rotation before the interval).
    expect(ks.issuer.signer().kid).toBe(s.kid);
  });

  it('a second store on the same dir (another process) sees the same keys and later rotations', async () => {
    const dir = tempDir();
    const a = open(dir);
    const b = open(dir, a.clock);
    const k1 = a.ks.issuer.signer().kid;
    expect(b.ks.issuer.signer().kid).toBe(k1);
    const k2 = (await b.ks.issuer.rotate()).kid;
    expect(k2).not.toBe(k1);
    expect(a.ks.issuer.signer().kid).toBe(k2);
    expect(a.ks.issuer.jwks().keys.map((k) => k.kid)).toEqual([k1, k2]);
  });

  it('each rotation makes the new key the signer, even many within one frozen millisecond', async () => {
    const { ks } = open(tempDir());
    const seen = new Set<string>([ks.issuer.signer().kid]);
    for (let i = 0; i < 8; i++) {
      const next = (await ks.issuer.rotate()).kid;
      expect(seen.has(next)).toBe(false);
      seen.add(next);
      expect(ks.issuer.signer().kid).toBe(next);
    }
    expect(ks.issuer.jwks().keys).toHaveLength(9);
  });

  it('agent keys: created once per SPIFFE ID, found by public key, invalid IDs refused', () => {
    const dir = tempDir();
    const { ks } = open(dir);
    const a = ks.agents.ensure(AGENT);
    expect(ks.agents.ensure(AGENT).kid).toBe(a.kid);
    const w = ks.agents.ensure('spiffe://sigil.mesh/agent/worker/1');
    expect(
      ks.agents
        .all()
        .map((k) => k.spiffeId)
        .sort(),
    ).toEqual([AGENT, 'spiffe://sigil.mesh/agent/worker/1']);
    expect(ks.agents.byPublicKey({ kty: 'OKP', crv: 'Ed25519', x: w.publicJwk.x })?.spiffeId).toBe(
      w.spiffeId,
    );
    expect(ks.agents.byPublicKey({ kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43) })).toBeUndefined();
    for (const f of readdirSync(join(dir, 'keys', 'agents')))
      expect(statSync(join(dir, 'keys', 'agents', f)).mode & 0o777).toBe(0o600);
    expect(codeOf(() => ks.agents.ensure('spiffe://Sigil.mesh/agent/x'))).toBe('TBIT_INVALID_SPIFFE_ID');
    expect(codeOf(() => ks.agents.ensure('spiffe://sigil.mesh/agent/../x'))).toBe('TBIT_INVALID_SPIFFE_ID');
  });

  it('refuses corrupt key files with ISSUER_STORE_CORRUPT (never signs with them)', () => {
    const dir = tempDir();
    const { ks } = open(dir);
    const s = ks.issuer.signer();
    const file = join(dir, 'keys', 'issuer', `${s.kid}.jwk.json`);
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    const fresh = () => open(dir).ks;
    // x does not belong to d
    writeFileSync(file, JSON.stringify({ ...doc, jwk: { ...doc.jwk, x: 'A'.repeat(43) } }));
    expect(codeOf(() => fresh().issuer.signer())).toBe('ISSUER_STORE_CORRUPT');
    // not JSON
    writeFileSync(file, '{"kid":');
    expect(codeOf(() => fresh().issuer.jwks())).toBe('ISSUER_STORE_CORRUPT');
    // kid not the thumbprint
    writeFileSync(file, JSON.stringify({ ...doc, kid: 'attacker-chosen' }));
    expect(codeOf(() => fresh().issuer.jwks())).toBe('ISSUER_STORE_CORRUPT');
    // bad created_at
    writeFileSync(file, JSON.stringify({ ...doc, created_at: 'yesterday' }));
    expect(codeOf(() => fresh().issuer.jwks())).toBe('ISSUER_STORE_CORRUPT');
    // a file named for another kid
    writeFileSync(file, JSON.stringify(doc));
    writeFileSync(join(dir, 'keys', 'issuer', 'other.jwk.json'), JSON.stringify(doc));
    expect(codeOf(() => fresh().issuer.jwks())).toBe('ISSUER_STORE_CORRUPT');
  });
});

describe('rotation timeline (frozen clock)', () => {
  it('rotates after the interval, keeps the old kid published for max_ttl + skew, then prunes it', async () => {
    const dir = tempDir();
    const options = testOptions(dir, {
      issuer: { key_rotation_interval: HOUR, max_ttl: 300 },
      validator: { clock_skew: 5 },
    });
    const clock = frozenClock(T0_MS);
    const stores = await openIssuerStores(options, { clock, watch: false });
    const { keys, trust } = stores;
    const opts = { trust, clock, maxTtl: 300, clockSkew: 5 };
    const mint = (ttl: number) => {
      const s = keys.issuer.signer();
      return mintRoot({
        issuerKey: s.privateKey,
        kid: s.kid,
        iss: ISSUER_ID,
        sub: AGENT,
        aud: 'spiffe://sigil.mesh',
        taskId: 't',
        toolScope: ['fs.read'],
        ttl,
        clock,
        maxTtl: 300,
      });
    };

    const { kid: k1, privateKey: k1Private } = keys.issuer.signer();
    clock.advance((HOUR - 1) * 1000);
    expect(keys.issuer.signer().kid).toBe(k1); // 1 s before the interval: unchanged
    // Signed by k1 one second before rotation, full lifetime.
    const old = mint(300);
    const jwksAtOld = keys.issuer.jwks();

    clock.advance(1000); // exactly the interval
    const k2 = keys.issuer.signer().kid;
    expect(k2).not.toBe(k1);
    const info = keys.issuer.keys();
    expect(info.map((k) => [k.kid, k.signing])).toEqual([
      [k1, false],
      [k2, true],
    ]);
    expect(info[0]!.retiredAt).toBe(T0_MS + HOUR * 1000);
    expect(info[0]!.publishUntil).toBe(T0_MS + (HOUR + 300 + 5) * 1000);
    // Both published; the old token still verifies, also with plain jose against the JWKS.
    expect(keys.issuer.jwks().keys.map((k) => k.kid)).toEqual([k1, k2]);
    expect(verifyChain(old, opts).leaf.sub).toBe(AGENT);
    await jwtVerify(old, createLocalJWKSet(jwksAtOld as never), { currentDate: new Date(clock.nowMs()) });
    const fresh = mint(300);
    expect(verifyChain(fresh, opts).hops[0]!.header.kid).toBe(k2);

    // Old token's last valid second (exp + skew − 1, exp = T0+HOUR−1+300) is inside k1's window: still verifies.
    clock.set(T0_MS + (HOUR - 1 + 300 + 5 - 1) * 1000);
    expect(verifyChain(old, opts).depth).toBe(1);
    clock.advance(1000);
    expect(codeOf(() => verifyChain(old, opts))).toBe('TBIT_EXPIRED');
    expect(keys.issuer.jwks().keys.map((k) => k.kid)).toEqual([k1, k2]);

    // One second before the window closes: still published; at the boundary: gone from JWKS and pruned on disk.
    clock.set(T0_MS + (HOUR + 300 + 5) * 1000 - 1);
    expect(keys.issuer.jwks().keys.map((k) => k.kid)).toEqual([k1, k2]);
    clock.set(T0_MS + (HOUR + 300 + 5) * 1000);
    expect(keys.issuer.jwks().keys.map((k) => k.kid)).toEqual([k2]);
    // Even before any process deletes the file, the verifier no longer accepts k1.
    expect(trust.issuerKey(ISSUER_ID, k1)).toBeUndefined();
    expect(keys.issuer.prune()).toEqual([k1]);
    expect(readdirSync(join(dir, 'keys', 'issuer')).filter((f) => !f.startsWith('.'))).toEqual([
      `${k2}.jwk.json`,
    ]);
    // The new key still verifies tokens; a fresh token signed with the pruned key is refused.
    expect(trust.issuerKey(ISSUER_ID, k2)?.key.equals(createPublicKey(keys.issuer.signer().privateKey))).toBe(
      true,
    );
    const late = mintRoot({
      issuerKey: k1Private,
      kid: k1,
      iss: ISSUER_ID,
      sub: AGENT,
      aud: 'spiffe://sigil.mesh',
      taskId: 't',
      toolScope: ['fs.read'],
      ttl: 60,
      clock,
      maxTtl: 300,
    });
    expect(codeOf(() => verifyChain(late, opts))).toBe('TBIT_UNKNOWN_KEY');
    expect(verifyChain(mint(60), opts).depth).toBe(1);
    stores.close();
  });

  it('signer() rotates and prunes lazily in one call after a long idle period', () => {
    const dir = tempDir();
    const { ks, clock } = open(dir);
    const k1 = ks.issuer.signer().kid;
    clock.advance(10 * HOUR * 1000);
    const k2 = ks.issuer.signer().kid;
    expect(k2).not.toBe(k1);
    // k1 was retired just now (when k2 was created), so it is still published.
    expect(ks.issuer.jwks().keys.map((k) => k.kid)).toEqual([k1, k2]);
    clock.advance(306 * 1000);
    ks.issuer.signer();
    expect(ks.issuer.jwks().keys.map((k) => k.kid)).toEqual([k2]);
  });
});

describe('split stores', () => {
  it('openKeyStores opens one issuer-key store and one agent-key store in their own dirs', () => {
    const dir = tempDir();
    const { ks } = open(dir);
    const s = ks.issuer.signer();
    expect(ks.issuer.signer().kid).toBe(s.kid);
    expect(ks.issuer.publicKey(s.kid)?.equals(createPublicKey(s.privateKey))).toBe(true);
    const a = ks.agents.ensure(AGENT);
    expect(ks.agents.get(AGENT)?.kid).toBe(a.kid);
    expect(readdirSync(join(dir, 'keys', 'issuer')).filter((f) => !f.startsWith('.'))).toEqual([
      `${s.kid}.jwk.json`,
    ]);
    expect(readdirSync(join(dir, 'keys', 'agents')).filter((f) => !f.startsWith('.'))).toHaveLength(1);
  });
});
