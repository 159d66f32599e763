/**
 * The writer lock of a `sigil serve` killed with SIGKILL (docs/ledger.md §4 "One sequencer"): a CLI command right
 * after finds the lock held and nobody answering, waits until the lock is stale (10 s) and appends its entry
 * directly; the log (with the dead writer's last entries) verifies. Slow: it waits out the stale time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSigilCli, type SigilProcess, startSigilProcess } from '../support/sigil-process.js';

let p: SigilProcess;
beforeAll(async () => {
  p = await startSigilProcess({ audit: { durability: 'sync' } });
}, 60_000);
afterAll(() => p?.dispose());

describe('CLI next to a killed sigil serve', () => {
  it('takes over the stale writer lock and records its entry once; the log verifies', async () => {
    await p.stop('SIGKILL');
    const t0 = Date.now();
    const mint = await runSigilCli(p.configFile, [
      'mint',
      '--sub',
      'spiffe://sigil.mesh/agent/local/dev',
      '--task',
      'after-crash',
      '--tools',
      'fs.read',
    ]);
    expect(mint.stderr).toBe('');
    expect(mint.code).toBe(0);
    // It had to wait for the lock to go stale: the dead writer's lock is not broken early.
    expect(Date.now() - t0).toBeGreaterThan(4_000);
    const q = await runSigilCli(p.configFile, ['audit', 'query', '--kind', 'token.mint']);
    const hits = q.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { record: { task_id: string } });
    expect(hits.map((h) => h.record.task_id)).toEqual(['after-crash']);
    const verify = await runSigilCli(p.configFile, ['audit', 'verify']);
    expect(verify.code).toBe(0);
    expect((JSON.parse(verify.stdout) as { ok: boolean }).ok).toBe(true);
  }, 120_000);
});
