/**
 * The data dir's locks (proper-lockfile): concurrent writers in separate processes lose no update, a
 * lock left by a crashed process is taken over, and waiting for a held lock never blocks the event loop.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { lock } from 'proper-lockfile';
import { afterEach, describe, expect, it } from 'vitest';
import { withFileLock } from '../../src/issuer/lib/files.js';
import { openKeyStores } from '../../src/issuer/open-stores.js';
import { RevocationStore } from '../../src/issuer/revocation-store.js';
import { AGENT, cleanupDirs, codeOf, tempDir } from './helpers.js';

afterEach(cleanupDirs);

const run = promisify(execFile);
const PER_WRITER = 40;

function store(dir: string): RevocationStore {
  return RevocationStore.open({ path: join(dir, 'revocations.json'), watch: false });
}

/** A lock directory whose holder "crashed" a minute ago. */
function staleLock(path: string): void {
  mkdirSync(path);
  const old = new Date(Date.now() - 60_000);
  utimesSync(path, old, old);
}

describe('file locks', () => {
  it('two writer processes revoking concurrently: the file stays valid and no update is lost', async () => {
    const dir = tempDir();
    const script = join(dir, 'writer.mts');
    const src = resolve('src/issuer/revocation-store.ts');
    writeFileSync(
      script,
      `import { RevocationStore } from ${JSON.stringify(src)};
const s = RevocationStore.open({ path: process.argv[2], watch: false });
for (let i = 0; i < ${PER_WRITER}; i++) await s.revoke({ task: process.argv[3] + i });
s.close();
`,
    );
    const path = join(dir, 'revocations.json');
    const writer = (name: string) => run(process.execPath, ['--import', 'tsx', script, path, name]);
    await Promise.all([writer('a-'), writer('b-')]);
    const list = JSON.parse(readFileSync(path, 'utf8'));
    expect(list.version).toBe(2 * PER_WRITER);
    expect(new Set(list.tasks.map((t: { id: string }) => t.id)).size).toBe(2 * PER_WRITER);
  }, 60_000);

  it('takes over a stale lock (async and sync paths)', async () => {
    const dir = tempDir();
    const s = store(dir);
    staleLock(join(dir, '.revocations.json.lock.d'));
    expect((await s.revoke({ task: 't1' })).version).toBe(1);
    staleLock(join(dir, '.revocations.json.lock.d'));
    expect(s.revokeSync({ task: 't2' }).version).toBe(2);
    s.close();
  });

  it('waits for a held lock without blocking the event loop; the sync path fails fast instead', async () => {
    const dir = tempDir();
    const s = store(dir);
    const lockDir = join(dir, '.revocations.json.lock.d');
    const release = await lock(lockDir, { lockfilePath: lockDir, realpath: false });
    expect(codeOf(() => s.revokeSync({ task: 't' }))).toBe('ISSUER_STORE_BUSY');
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const pending = s.revoke({ task: 't' });
    await new Promise((r) => setTimeout(r, 150));
    expect(ticks).toBeGreaterThan(5); // the loop kept running while revoke waited
    await release();
    expect((await pending).version).toBe(1);
    clearInterval(timer);
    s.close();
  });

  it('gives up on a lock held too long with ISSUER_STORE_BUSY', async () => {
    const dir = tempDir();
    const lockDir = join(dir, '.held.lock');
    const release = await lock(lockDir, { lockfilePath: lockDir, realpath: false });
    const err = await withFileLock(lockDir, () => 1).catch((e: { code?: string }) => e.code);
    expect(err).toBe('ISSUER_STORE_BUSY');
    await release();
  }, 15_000);

  it('keys: mint keeps signing with the current key while another process holds the rotation lock', async () => {
    const dir = tempDir();
    const ks = openKeyStores({ dataDir: dir, rotationInterval: 0, maxTtl: 300, clockSkew: 5 });
    const first = ks.issuer.signer().kid;
    const lockDir = join(dir, 'keys', 'issuer', '.rotate.lock');
    const release = await lock(lockDir, { lockfilePath: lockDir, realpath: false });
    expect(ks.issuer.signer().kid).toBe(first); // rotation due (interval 0) but the lock is busy
    await release();
    expect(ks.issuer.signer().kid).not.toBe(first);
  });

  it('keys: two stores creating the same agent key concurrently end up with one key', () => {
    const dir = tempDir();
    const open = () => openKeyStores({ dataDir: dir, rotationInterval: 3600, maxTtl: 300, clockSkew: 5 });
    const a = open();
    const b = open();
    // b has not listed yet when a creates; b's own exclusive create then loses and reads a's key back.
    const ka = a.agents.ensure(AGENT);
    const kb = b.agents.ensure(AGENT);
    expect(kb.kid).toBe(ka.kid);
    expect(a.agents.all()).toHaveLength(1);
  });
});
