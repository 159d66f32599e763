import { afterEach, describe, expect, it } from 'vitest';
import { startIssuer } from '../../src/issuer/start.js';
import { AGENT, cleanupDirs, tempDir, testOptions } from './helpers.js';

afterEach(cleanupDirs);

describe('startIssuer', () => {
  it('generates dev keys on first start and keeps them across restarts', async () => {
    const dir = tempDir();
    const first = await startIssuer(testOptions(dir));
    const kids = first.service.jwks().keys.map((k) => k.kid);
    const id = first.service.identity();
    await first.close();
    expect(kids).toHaveLength(1);
    expect(id.spiffe_id).toBe(AGENT);

    const second = await startIssuer(testOptions(dir));
    expect(second.service.jwks().keys.map((k) => k.kid)).toEqual(kids);
    expect(second.service.identity().public_key).toEqual(id.public_key);
    await second.close();
    // close() is idempotent.
    await second.close();
  });

  it('rotates in the background even when nobody mints (real time, 1 s interval)', async () => {
    const dir = tempDir();
    const issuer = await startIssuer(testOptions(dir, { issuer: { key_rotation_interval: 1 } }));
    try {
      const k1 = issuer.service.jwks().keys[0]!.kid;
      await expect
        .poll(() => issuer.service.jwks().keys.map((k) => k.kid), { timeout: 10_000, interval: 200 })
        .toEqual(expect.arrayContaining([k1, expect.not.stringMatching(`^${k1}$`)]));
      // The old key is still published (its tokens may live up to max_ttl), and a new one signs.
      const keys = issuer.stores.keys.issuer.keys();
      expect(keys[0]!.kid).toBe(k1);
      expect(keys.at(-1)!.signing).toBe(true);
    } finally {
      await issuer.close();
    }
  });

  it('refuses to start on a port that is taken, and cleans up what it opened', async () => {
    const a = await startIssuer(testOptions(tempDir()));
    try {
      const busy = testOptions(tempDir(), { issuer: { listen_http: `127.0.0.1:${a.http!.port}` } });
      await expect(startIssuer(busy)).rejects.toMatchObject({ code: 'LISTEN_FAILED', errno: 'EADDRINUSE' });
    } finally {
      await a.close();
    }
  });
});
