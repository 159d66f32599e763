import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openIssuerStores } from '../../src/issuer/open-stores.js';
import { RevocationStore } from '../../src/issuer/revocation-store.js';
import { IssuerService, LOCAL_OPERATOR } from '../../src/issuer/service.js';
import { frozenClock } from '../../src/lib/clock.js';
import { verifyChain } from '../../src/token/index.js';
import { AGENT, cleanupDirs, codeOf, T0_MS, tempDir, testOptions, WORKER } from './helpers.js';

const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
  cleanupDirs();
});

async function setup(watch = true) {
  const dir = tempDir();
  const options = testOptions(dir);
  const clock = frozenClock(T0_MS);
  const stores = await openIssuerStores(options, { clock, watch });
  closers.push(() => stores.close());
  stores.keys.agents.ensure(AGENT);
  stores.keys.agents.ensure(WORKER);
  const service = new IssuerService({ options, ...stores, clock });
  const root = service.mint({ sub: AGENT, task_id: 'task-1', tool_scope: ['fs.*'] }, LOCAL_OPERATOR);
  const chain = service.delegate({ token: root.token, to: WORKER, tool_scope: ['fs.read'] });
  const verify = (t: string) => verifyChain(t, { trust: stores.trust, clock, maxTtl: 300, clockSkew: 5 });
  return { dir, options, clock, stores, service, root, chain, verify };
}

describe('RevocationStore', () => {
  it('revoking a task refuses the root and every chain delegated from it immediately (in-process)', async () => {
    const s = await setup(false);
    expect(s.verify(s.chain.token).depth).toBe(2);
    const v0 = s.stores.trust.version;
    const r = s.service.revoke({ task: 'task-1' }, LOCAL_OPERATOR);
    expect(r).toMatchObject({ kind: 'task', id: 'task-1', already: false, version: 1 });
    expect(s.stores.trust.version).toBeGreaterThan(v0); // verified-chain caches must drop
    expect(codeOf(() => s.verify(s.root.token))).toBe('TBIT_REVOKED');
    expect(codeOf(() => s.verify(s.chain.token))).toBe('TBIT_REVOKED');
    // Nor can a revoked chain be delegated further.
    expect(
      codeOf(() => s.service.delegate({ token: s.root.token, to: WORKER, tool_scope: ['fs.read'] })),
    ).toBe('TBIT_REVOKED');
    // Idempotent: the first timestamp stays.
    expect(s.service.revoke({ task: 'task-1' }, LOCAL_OPERATOR)).toMatchObject({
      already: true,
      at: r.at,
      version: 1,
    });
  });

  it('revoking a parent jti refuses the chain below it; an unrelated token stays valid', async () => {
    const s = await setup(false);
    const other = s.service.mint({ sub: AGENT, task_id: 'task-2', tool_scope: ['fs.*'] }, LOCAL_OPERATOR);
    s.service.revoke({ jti: s.root.jti }, LOCAL_OPERATOR);
    expect(codeOf(() => s.verify(s.chain.token))).toBe('TBIT_REVOKED');
    expect(s.verify(other.token).depth).toBe(1);
  });

  it('writes {version, tasks:[{id,at}], jtis:[{id,at}]} atomically with mode 0600', async () => {
    const s = await setup(false);
    s.service.revoke({ task: 'task-1' }, LOCAL_OPERATOR);
    s.service.revoke({ jti: 'j-9' }, LOCAL_OPERATOR);
    const path = join(s.dir, 'revocations.json');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({
      version: 2,
      tasks: [{ id: 'task-1', at: new Date(T0_MS).toISOString() }],
      jtis: [{ id: 'j-9', at: new Date(T0_MS).toISOString() }],
    });
  });

  it("a watching store picks up another writer's change without being told", async () => {
    const s = await setup(true);
    expect(s.verify(s.chain.token).depth).toBe(2);
    // A second store on the same file stands in for another process (the CLI test does it for real).
    const other = RevocationStore.open({ path: join(s.dir, 'revocations.json'), watch: false });
    closers.push(() => other.close());
    await other.revoke({ task: 'task-1' });
    await expect
      .poll(() => s.stores.revocations.isRevoked({ jti: 'x', task_id: 'task-1' }), { timeout: 5000 })
      .toBe(true);
    expect(codeOf(() => s.verify(s.chain.token))).toBe('TBIT_REVOKED');
  });

  it('fails closed on a corrupt revocation file: every token counts as revoked until it is fixed', async () => {
    const s = await setup(false);
    const path = join(s.dir, 'revocations.json');
    writeFileSync(path, '{"version": 1, "tasks": "oops"}');
    s.stores.revocations.reload();
    expect(s.stores.revocations.error?.code).toBe('ISSUER_STORE_CORRUPT');
    expect(codeOf(() => s.verify(s.chain.token))).toBe('TBIT_REVOKED');
    // Writing on top of a corrupt file is refused rather than silently dropping its entries.
    expect(codeOf(() => s.service.revoke({ jti: 'j' }, LOCAL_OPERATOR))).toBe('ISSUER_STORE_CORRUPT');
    writeFileSync(path, JSON.stringify({ version: 3, tasks: [], jtis: [] }));
    s.stores.revocations.reload();
    expect(s.stores.revocations.error).toBeUndefined();
    expect(s.verify(s.chain.token).depth).toBe(2);
  });

  it('rejects bad revoke requests with ISSUER_BAD_REQUEST', async () => {
    const s = await setup(false);
    for (const bad of [
      {},
      { task: '' },
      { task: 'a', jti: 'b' },
      { task: 7 },
      { task: 'x'.repeat(2000) },
      { tasks: ['a'] },
      null,
      'task',
    ]) {
      expect(codeOf(() => s.service.revoke(bad, LOCAL_OPERATOR))).toBe('ISSUER_BAD_REQUEST');
    }
    expect(s.stores.revocations.current().version).toBe(0);
  });
});
