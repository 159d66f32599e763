/**
 * `sigil audit` on a compacted log through the real CLI (docs/ledger.md §10): `compact` archives and
 * prunes, `verify` checks archive + local as one tree, `query` and `prove` read archived entries, and an
 * archive that is not mounted gives LEDGER_ARCHIVED for archived bodies and proofs while verify checks
 * the tree from the kept nodes.
 */
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyProgress } from '../../src/cli/commands/audit.js';
import { b64decode, encodeRecord, leafHash, MerkleLog, verifyInclusion } from '../../src/ledger/index.js';
import { runCliSync } from '../support/sigil-cli.js';
import { record, tempDir } from './helpers.js';

const t = tempDir('sigil-ledger-cli-archive-');
const data = join(t.dir, 'data');
const cli = (env: Record<string, string>, ...args: string[]) =>
  runCliSync(['--data', data, 'audit', ...args], { env });
const withRetention = { SIGIL__AUDIT__RETENTION: '1d' };
const json = (s: string) => JSON.parse(s) as Record<string, unknown>;

beforeAll(async () => {
  const log = await MerkleLog.open(join(data, 'ledger'));
  // helpers.record times are in January 2026: older than a day.
  await Promise.all(Array.from({ length: 700 }, (_, i) => log.appendDecision(record(i))));
  await log.close();
});
afterAll(() => t.cleanup());

describe('sigil audit on a compacted log', { timeout: 180_000 }, () => {
  it('compact, then verify, query and prove across archive and local entries', () => {
    expect(cli({}, 'compact').stderr).toMatch(/^LEDGER_BAD_ARGUMENT: sigil.audit.retention is not set/);
    const c = cli(withRetention, 'compact');
    expect(c.stderr).toBe('');
    expect(json(c.stdout)).toMatchObject({ prunedBefore: 0, pruned: 512, checkpoint: 700 });

    const v = cli({}, 'verify');
    expect(v.code).toBe(0);
    const report = json(v.stdout);
    expect(report).toMatchObject({ ok: true, size: 700, entries: 700, pruned: 512, archived: 512 });
    expect(report.entries_per_second).toBeGreaterThan(0);

    const q = cli({}, 'query', '--task', 'task-2', '--limit', '3');
    expect(q.code).toBe(0);
    expect(
      q.stdout
        .trim()
        .split('\n')
        .map((l) => json(l).index),
    ).toEqual([2, 7, 12]);

    const p = cli({}, 'prove', '10');
    expect(p.code).toBe(0);
    const proof = json(p.stdout) as { size: number; root: string; leaf_hash: string; hashes: string[] };
    const body = encodeRecord(record(10));
    expect(Buffer.from(leafHash(body)).toString('base64')).toBe(proof.leaf_hash);
    const b = (s: string) => b64decode(s) as Uint8Array;
    expect(verifyInclusion(b(proof.leaf_hash), 10, proof.size, proof.hashes.map(b), b(proof.root))).toBe(
      true,
    );
  });

  it('without the archive: LEDGER_ARCHIVED for archived bodies and proofs; verify from the kept nodes', () => {
    renameSync(join(data, 'archive'), join(t.dir, 'elsewhere'));
    const q = cli({}, 'query', '--task', 'task-2', '--limit', '3');
    expect(q.code).toBe(1);
    expect(q.stderr).toMatch(/^LEDGER_ARCHIVED: /);
    // A proof through pruned node rows needs the archive; one of a local entry does not.
    expect(cli({}, 'prove', '10').stderr).toMatch(/^LEDGER_ARCHIVED: /);
    expect(cli({}, 'prove', '600').code).toBe(0);
    const v = cli({}, 'verify');
    expect(v.code).toBe(0);
    expect(json(v.stdout)).toMatchObject({ ok: true, pruned: 512, archived: 0 });
    // --archive mounts it from another place.
    const again = cli({}, 'verify', '--archive', join(t.dir, 'elsewhere'));
    expect(json(again.stdout)).toMatchObject({ ok: true, archived: 512, archiveCheckpoint: 700 });
  });
});

describe('audit verify progress', () => {
  it('shows share, rate and time left', () => {
    expect(verifyProgress(2_500_000, 10_000_000, 5000)).toBe(
      'verify: 2500000/10000000 entries (25%), 500000 entries/s, ~15 s left',
    );
    expect(verifyProgress(10_000_000, 10_000_000, 20_000)).toBe(
      'verify: 10000000/10000000 entries (100%), 500000 entries/s',
    );
    expect(verifyProgress(0, 100, 0)).toBe('verify: 0/100 entries (0%), 0 entries/s');
  });
});
