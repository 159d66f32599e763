/**
 * One sequencer (docs/ledger.md §4 "One sequencer", issue #20): CLI commands on the data dir of a running
 * `sigil serve` (separate processes) hand their lifecycle entries to it through the admin API; with no server
 * they append directly under the writer lock. Each entry lands exactly once, no token string reaches the ledger
 * file, and `sigil audit verify` passes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSigilCli, type SigilProcess, startSigilProcess } from '../support/sigil-process.js';

const SUB = 'spiffe://sigil.mesh/agent/local/dev';
let p: SigilProcess;

beforeAll(async () => {
  p = await startSigilProcess({ audit: { durability: 'fast' } });
}, 60_000);
afterAll(() => p?.dispose());

const cli = (args: string[]) => runSigilCli(p.configFile, args);

/** `sigil audit query --kind <kind>` (a read-only open, next to the writer or not). */
async function query(kind: string): Promise<Array<{ index: number; record: Record<string, unknown> }>> {
  const r = await cli(['audit', 'query', '--kind', kind, '--limit', '1000']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as { index: number; record: Record<string, unknown> });
}

describe('CLI lifecycle entries next to a running sigil serve', () => {
  const tokens: string[] = [];

  it('mint, revoke and keys rotate from CLI processes: one entry each, through the sidecar', async () => {
    const [mint, rotate] = await Promise.all([
      cli(['mint', '--sub', SUB, '--task', 'task-cli', '--tools', 'fs.read', '--json']),
      cli(['keys', 'rotate', '--json']),
    ]);
    expect(mint.stderr).toBe('');
    expect(mint.code).toBe(0);
    expect(rotate.code).toBe(0);
    const minted = JSON.parse(mint.stdout) as { token: string; jti: string };
    tokens.push(minted.token);
    const revoke = await cli(['revoke', '--task', 'task-cli']);
    expect(revoke.code).toBe(0);

    const mints = await query('token.mint');
    expect(mints).toHaveLength(1);
    expect(mints[0]!.record).toMatchObject({ via: 'cli', task_id: 'task-cli', jti: minted.jti, sub: SUB });
    const revokes = await query('token.revoke');
    expect(revokes.map((h) => h.record)).toMatchObject([{ via: 'cli', task_id: 'task-cli', already: false }]);
    const rotations = await query('key.rotate');
    expect(rotations.map((h) => h.record)).toMatchObject([
      {
        via: 'cli',
        key_type: 'issuer',
        kid: (JSON.parse(rotate.stdout) as { signing_kid: string }).signing_kid,
      },
    ]);
    // The CLI could not take the writer lock: the sidecar holds it and published its admin address.
    expect(readdirSync(join(p.dataDir, 'ledger'))).toEqual(
      expect.arrayContaining(['writer.lock', 'writer.json']),
    );
    expect(p.output()).not.toMatch(/"level":50/);
    // The sidecar's own entries are there once too, before the CLI's.
    const start = await query('sidecar.start');
    expect(start).toHaveLength(1);
    expect(start[0]!.index).toBeLessThan(mints[0]!.index);
  }, 120_000);

  it('POST /api/lifecycle takes only valid CLI entries, with the admin Bearer token', async () => {
    const token = readFileSync(join(p.dataDir, 'admin-token'), 'utf8').trim();
    const post = (body: unknown, auth = token) =>
      fetch(`${p.adminUrl}/api/lifecycle`, {
        method: 'POST',
        headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const entry = {
      v: 1,
      id: 'e2e-1',
      ts: Date.now(),
      kind: 'token.revoke',
      via: 'cli',
      jti: 'j-1',
      already: false,
    };
    expect((await post(entry, 'wrong-admin-token-0123456789')).status).toBe(401);
    const serve = await post({ ...entry, via: 'serve' });
    expect(serve.status).toBe(400);
    expect(((await serve.json()) as { code: string }).code).toBe('ADMIN_BAD_REQUEST');
    const bad = await post({ ...entry, token: 'x' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { code: string }).code).toBe('LEDGER_RECORD_INVALID');
    const ok = await post(entry);
    expect(ok.status).toBe(200);
    const { index } = (await ok.json()) as { index: number };
    expect((await query('token.revoke')).at(-1)).toMatchObject({ index, record: { jti: 'j-1' } });
    // The admin API's query by kind (newest first), and an unknown kind refused.
    const get = (q: string) =>
      fetch(`${p.adminUrl}/api/decisions?${q}`, { headers: { authorization: `Bearer ${token}` } });
    const page = (await (await get('kind=token.revoke')).json()) as {
      items: Array<{ index: number; record: { kind: string } }>;
    };
    expect(page.items.map((i) => i.index)[0]).toBe(index);
    expect(page.items.every((i) => i.record.kind === 'token.revoke')).toBe(true);
    expect(page.items).toHaveLength(2);
    const unknown = await get('kind=token.burn');
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { code: string }).code).toBe('LEDGER_BAD_ARGUMENT');
  }, 60_000);

  it('after the sidecar stopped, a CLI mint appends directly; the log verifies; no token in the file', async () => {
    expect(await p.stop()).toBe(0);
    expect(readdirSync(join(p.dataDir, 'ledger'))).not.toContain('writer.lock');
    const mint = await cli(['mint', '--sub', SUB, '--task', 'task-offline', '--tools', 'fs.read']);
    expect(mint.stderr).toBe('');
    expect(mint.code).toBe(0);
    tokens.push(mint.stdout.trim());
    const mints = await query('token.mint');
    expect(mints.map((h) => h.record.task_id)).toEqual(['task-cli', 'task-offline']);
    expect(await query('sidecar.stop')).toHaveLength(1);

    const verify = await cli(['audit', 'verify']);
    expect(verify.code).toBe(0);
    const report = JSON.parse(verify.stdout) as {
      ok: boolean;
      records: { lifecycle: Record<string, number> };
    };
    expect(report.ok).toBe(true);
    expect(report.records.lifecycle).toMatchObject({ 'token.mint': 2, 'token.revoke': 2, 'key.rotate': 1 });

    for (const f of readdirSync(join(p.dataDir, 'ledger'))) {
      const bytes = readFileSync(join(p.dataDir, 'ledger', f)).toString('latin1');
      for (const t of tokens) {
        expect(t.length).toBeGreaterThan(100);
        for (const part of t.split(/[.~]/))
          expect(bytes.includes(part), `${f} holds a token part`).toBe(false);
      }
    }
  }, 120_000);
});
