/**
 * Crash safety of export and prune (docs/ledger.md §10 "Steps"): a child running one compaction is killed
 * with SIGKILL right after each step boundary in turn, on a copy of the same log. After every kill the
 * log opens, verifies with its archive as one tree, still holds every entry's bytes (local or archived)
 * and the same root, and the next run completes the compaction.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MerkleLog } from '../../src/ledger/index.js';
import { verifyLog } from '../../src/ledger/verify-log.js';
import { postedIndices, record, tempDir } from './helpers.js';

const NOW = 1_767_225_600_000 + 10 * 86_400_000;
let t: { dir: string; cleanup: () => void };
/** The pristine state every kill starts from: 1100 entries; a run at size 400 archived tile 0 already. */
const pristine = () => join(t.dir, 'pristine');
let bodies: Buffer[] = [];
let root: Buffer;
/** Index queries (postings of archived ranges are pruned with them) and their answers before any kill. */
const QUERIES = [
  { task: 'task-2', limit: 1000 },
  { decision: 'deny' as const, order: 'desc' as const, limit: 1000 },
];
let answers: number[][] = [];

beforeAll(async () => {
  t = tempDir();
  const log = await MerkleLog.open(join(pristine(), 'ledger'), {
    archiveDir: join(pristine(), 'archive'),
    retentionMs: 86_400_000,
  });
  await Promise.all(Array.from({ length: 400 }, (_, i) => log.appendDecision(record(i))));
  expect((await log.compact({ now: NOW })).pruned).toBe(256);
  await Promise.all(Array.from({ length: 700 }, (_, i) => log.appendDecision(record(400 + i))));
  bodies = Array.from({ length: 1100 }, (_, i) => Buffer.from(log.entry(i)));
  root = Buffer.from(log.root());
  answers = QUERIES.map((q) => log.query(q).map((h) => h.index));
  await log.close();
});
afterAll(() => t.cleanup());

/** Runs the child on `dir`, killed after step `crashAt` (0: never). Returns its stdout lines. */
function child(dir: string, crashAt: number): { lines: string[]; signal: NodeJS.Signals | null } {
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      'test/ledger/fixtures/compact-child.ts',
      join(dir, 'ledger'),
      join(dir, 'archive'),
      String(crashAt),
      String(NOW),
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  if (r.status !== 0 && r.signal !== 'SIGKILL') throw new Error(`child failed: ${r.stderr}`);
  return { lines: r.stdout.split('\n').filter(Boolean), signal: r.signal };
}

describe('compaction crash safety', () => {
  it('survives SIGKILL at every step boundary of export and prune, and resumes', async () => {
    // A run without a crash names the boundaries: checkpoint, each tile and bundle, sync, checkpoint
    // file, verified, and each prune transaction (256 entries each here).
    const full = join(t.dir, 'full');
    cpSync(pristine(), full, { recursive: true });
    const clean = child(full, 0);
    const steps = clean.lines
      .filter((l) => l.startsWith('step '))
      .map((l) => l.split(' ').slice(2).join(' '));
    expect(clean.lines.at(-1)).toBe(`done ${steps.length} 1024`);
    expect(steps).toEqual([
      'checkpoint',
      'tile/0/001',
      'tile/0/002',
      'tile/0/003',
      'tile/0/004.p/76',
      'tile/1/000.p/4',
      'tile/entries/001',
      'tile/entries/002',
      'tile/entries/003',
      'sync',
      'checkpoint-file',
      'verified',
      'pruned 512',
      'pruned 768',
      'pruned 1024',
    ]);

    for (let k = 1; k <= steps.length; k++) {
      const dir = join(t.dir, `k${k}`);
      cpSync(pristine(), dir, { recursive: true });
      const run = child(dir, k);
      expect(run.signal, `boundary ${k}`).toBe('SIGKILL');
      expect(run.lines.at(-1)).toBe(`step ${k} ${steps[k - 1]}`);

      const log = await MerkleLog.open(join(dir, 'ledger'), {
        archiveDir: join(dir, 'archive'),
        retentionMs: 86_400_000,
      });
      // Nothing lost: the same tree, every body readable (local or from the archive), and it verifies.
      expect(log.size).toBe(1100);
      expect(Buffer.from(log.root()).equals(root), `root after boundary ${k}`).toBe(true);
      for (let i = 0; i < 1100; i += 7) {
        expect(Buffer.from(log.entry(i)).equals(bodies[i] as Buffer), `entry ${i} after boundary ${k}`).toBe(
          true,
        );
      }
      // Queries answer the same: each index is listed once, from a posting or from an archived bundle,
      // whichever side of the watermark the kill left it; no posting lists an entry below the watermark.
      expect(QUERIES.map((q) => log.query(q).map((h) => h.index), `queries after boundary ${k}`)).toEqual(
        answers,
      );
      expect(Math.min(...postedIndices(log)), `postings after boundary ${k}`).toBe(log.pruned);
      const report = verifyLog(log);
      expect(report.problems, `verify after boundary ${k}`).toEqual([]);
      expect(report.archived).toBe(report.pruned);
      // The next run completes where the killed one stopped.
      const next = await log.compact({ now: NOW });
      expect(next.pruned, `resume after boundary ${k}`).toBe(1024);
      expect(verifyLog(log)).toMatchObject({ ok: true, pruned: 1024, archived: 1024 });
      expect(Math.min(...postedIndices(log))).toBe(1024);
      expect(QUERIES.map((q) => log.query(q).map((h) => h.index))).toEqual(answers);
      await log.close();
      // No temp file is left in the archive (each write was complete at every boundary).
      const tmp = readdirSync(join(dir, 'archive'), { recursive: true }).filter((f) =>
        String(f).includes('.tmp'),
      );
      expect(tmp).toEqual([]);
    }
  }, 120_000);
});
