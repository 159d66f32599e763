/**
 * Check workers never serve without their primary (docs/authz.md §12): `sigil serve` (the CLI, a child process)
 * with `workers: 2`, the primary killed with SIGKILL — its workers see the IPC channel close and exit, and the
 * ext_authz port stops answering. No worker keeps deciding without the one ledger sequencer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callHealth, healthClient } from '../support/authz-client.js';
import { type SigilProcess, startSigilProcess } from '../support/sigil-process.js';

let sigil: SigilProcess;

beforeAll(async () => {
  sigil = await startSigilProcess({ authz: { workers: 2 } });
}, 60_000);

afterAll(async () => {
  await sigil?.dispose();
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('the primary killed', () => {
  it('its workers exit and the ext_authz port goes dark', async () => {
    const pids = sigil
      .output()
      .split('\n')
      .filter((l) => l.includes('"msg":"Check worker serving"'))
      .map((l) => (JSON.parse(l) as { pid: number }).pid);
    expect(pids).toHaveLength(2);
    const client = healthClient(`127.0.0.1:${sigil.authzPort}`);
    try {
      expect((await callHealth(client)).status).toBe(1);
      expect(await sigil.stop('SIGKILL')).toBeNull();
      const end = Date.now() + 10_000;
      while (pids.some(alive)) {
        if (Date.now() > end) throw new Error(`workers still alive: ${pids.filter(alive).join(', ')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      await expect(callHealth(client)).rejects.toMatchObject({ code: 14 });
    } finally {
      client.close();
    }
  }, 30_000);
});
