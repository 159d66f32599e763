/**
 * A writable audit command next to a running `sigil serve` on the journal (its default durability) is refused
 * with `LEDGER_LOCKED` and leaves the sidecar's journal alone (docs/ledger.md §2 "Readers next to a writer"):
 * without the writer lock its open would replay the sidecar's frames and write a new journal epoch under it,
 * so the frames the sidecar writes next would be skipped by a crash recovery. Separate processes, real files.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSigilCli, type SigilProcess, startSigilProcess } from '../support/sigil-process.js';

let p: SigilProcess;
beforeAll(async () => {
  p = await startSigilProcess({ audit: { durability: 'journal', checkpoint_interval: 0 } });
}, 60_000);
afterAll(() => p?.dispose());

const cli = (args: string[]) => runSigilCli(p.configFile, args);
/** SHA-256 of the journal's two header slots: a writer's open rewrites one of them (a new epoch). */
const headers = () =>
  createHash('sha256')
    .update(readFileSync(join(p.dataDir, 'ledger', 'ledger.journal')).subarray(0, 8192))
    .digest('hex');

describe('writable audit commands next to a running sidecar (journal)', () => {
  it('are refused with LEDGER_LOCKED; the journal headers are untouched; read-only commands run', async () => {
    const before = headers();
    for (const args of [
      ['audit', 'checkpoint'],
      ['audit', 'prove', '0', '--bundle'],
    ]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(/^LEDGER_LOCKED: .*writer\.lock/m);
    }
    expect(headers()).toBe(before);
    const root = await cli(['audit', 'root']);
    expect(root.stderr).toBe('');
    expect(root.code).toBe(0);
    expect(p.output()).not.toMatch(/"level":50/);
  }, 60_000);

  it('once the sidecar stopped, the same command runs and the log verifies', async () => {
    expect(await p.stop()).toBe(0);
    const cp = await cli(['audit', 'checkpoint']);
    expect(cp.stderr).toBe('');
    expect(cp.code).toBe(0);
    expect(JSON.parse(cp.stdout)).toMatchObject({ size: expect.any(Number), note: expect.any(String) });
    const verify = await cli(['audit', 'verify']);
    expect(verify.code).toBe(0);
  }, 60_000);
});
