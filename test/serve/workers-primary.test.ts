/**
 * `sigil serve` (the CLI, a child process) with `workers: 2`: Check workers never serve without their primary
 * (docs/authz.md §12) — the primary killed with SIGKILL, its workers see the IPC channel close and exit, and the
 * ext_authz port stops answering; and a port in use stops start-up with CONFIG_LISTEN_FAILED as in one process.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callHealth, healthClient } from '../support/authz-client.js';
import { freePorts } from '../support/ports.js';
import { runSigilCli, type SigilProcess, startSigilProcess } from '../support/sigil-process.js';

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

describe('start-up', () => {
  it('sigil.authz.listen in use → exit 1 CONFIG_LISTEN_FAILED naming the key and the address', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    const dir = mkdtempSync(join(tmpdir(), 'sigil-workers-busy-'));
    try {
      const [admin, http, grpc] = await freePorts(3);
      const cfg = join(dir, 'sigil.yaml');
      writeFileSync(
        cfg,
        `sigil:\n  data_dir: ${dir}\n  authz:\n    workers: 2\n    listen: "127.0.0.1:${port}"\n` +
          `  admin:\n    listen: "127.0.0.1:${admin}"\n` +
          `  issuer:\n    listen_http: "127.0.0.1:${http}"\n    listen_grpc: "127.0.0.1:${grpc}"\n`,
      );
      const r = await runSigilCli(cfg, ['serve']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('CONFIG_LISTEN_FAILED');
      expect(r.stderr).toContain(`config sigil.authz.listen: cannot listen on 127.0.0.1:${port}`);
      expect(r.stderr).toContain('address already in use (EADDRINUSE)');
    } finally {
      busy.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

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
