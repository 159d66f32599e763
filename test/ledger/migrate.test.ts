/**
 * Format 3 → 4 (docs/ledger.md §2 "Format 3 and the migration"): a format-3 log (the committed fixture made
 * by the code before this change, and a larger one written with the old encoding by hand, compacted, with
 * postings) is read as it is by read-only opens and migrated by the first writable open with the same
 * root, entries, proofs and query answers. A child killed with SIGKILL after every migration step leaves
 * format 3 or 4, never a mix: the log opens, verifies with the same root, and the next open finishes.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { open } from 'lmdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MerkleLog } from '../../src/ledger/index.js';
import { verifyLog } from '../../src/ledger/verify-log.js';
import { runCliSync } from '../support/sigil-cli.js';
import { downgradeToV3 } from './fixtures/v3-ledger.js';
import { postedIndices, record, tempDir } from './helpers.js';

const NOW = 1_767_225_600_000 + 10 * 86_400_000;
const QUERIES = [
  { task: 'task-2', limit: 1000 },
  { decision: 'deny' as const, order: 'desc' as const, limit: 1000 },
  { agent: 'spiffe://sigil.mesh/agent/leaf/1', limit: 1000 },
];
let t: { dir: string; cleanup: () => void };
/** The format-3 log every case starts from: 1300 entries, tiles 0–1 archived, 2 checkpoints. */
const pristine = () => join(t.dir, 'pristine');
let root: Buffer;
let bodies: Buffer[] = [];
let answers: number[][] = [];
let posted: number[] = [];

/** The format record and which databases exist, read raw. */
async function rawState(dir: string): Promise<{ version: unknown; dbs: string[] }> {
  const env = open({ path: join(dir, 'ledger.mdb'), maxDbs: 12, readOnly: true });
  try {
    const meta = env.openDB('meta', { useVersions: true });
    const version = (meta.get('format') as { version?: unknown } | undefined)?.version;
    const dbs = [...env.getKeys({})].map(String).filter((k) => k !== 'meta' && k !== 'checkpoints');
    return { version, dbs: dbs.sort() };
  } finally {
    await env.close();
  }
}

/** What must hold after any crash and after the migration: same size, root, bytes, answers; verifies. */
async function expectSameLog(dir: string, archiveDir: string, format: 3 | 4): Promise<void> {
  const log = await MerkleLog.open(dir, { readOnly: true, archiveDir });
  try {
    expect(log.format).toBe(format);
    expect(log.size).toBe(bodies.length);
    expect(Buffer.from(log.root()).equals(root)).toBe(true);
    for (const i of [0, 255, 511, 512, 777, 1299])
      expect(Buffer.from(log.entry(i)).equals(bodies[i] as Buffer)).toBe(true);
    expect(QUERIES.map((q) => log.query(q).map((h) => h.index))).toEqual(answers);
    const report = verifyLog(log);
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({ ok: true, size: 1300, entries: 1300, checkpoints: 2, pruned: 512 });
  } finally {
    await log.close();
  }
}

beforeAll(async () => {
  t = tempDir('sigil-ledger-migrate-');
  const dir = join(pristine(), 'ledger');
  const archiveDir = join(pristine(), 'archive');
  const log = await MerkleLog.open(dir, { archiveDir, retentionMs: 86_400_000, hashThread: false });
  await Promise.all(Array.from({ length: 700 }, (_, i) => log.appendDecision(record(i))));
  await log.checkpoints.make();
  expect((await log.compact({ now: NOW })).pruned).toBe(512);
  await Promise.all(Array.from({ length: 600 }, (_, i) => log.appendDecision(record(700 + i))));
  await log.checkpoints.make();
  bodies = Array.from({ length: 1300 }, (_, i) => Buffer.from(log.entry(i)));
  root = Buffer.from(log.root());
  answers = QUERIES.map((q) => log.query(q).map((h) => h.index));
  await log.close(); // stores every posting
  const stored = await MerkleLog.open(dir, { readOnly: true });
  posted = postedIndices(stored).sort((a, b) => a - b);
  await stored.close();
  await downgradeToV3(dir);
  expect(await rawState(dir)).toEqual({ version: 3, dbs: ['entries', 'idx', 'nodes'] });
}, 120_000);
afterAll(() => t.cleanup());

describe('format 3 → 4', () => {
  it('the committed fixture (made by the format-3 code) migrates with the same root, bytes and answers', async () => {
    const dir = join(t.dir, 'fixture');
    const fixture = gunzipSync(readFileSync(new URL('./fixtures/ledger-v1-records.mdb.gz', import.meta.url)));
    cpSync(pristine(), dir, { recursive: true }); // creates the directory
    writeFileSync(join(dir, 'ledger', 'ledger.mdb'), fixture);
    const ledger = join(dir, 'ledger');
    const before = await MerkleLog.open(ledger, { readOnly: true });
    expect(before.format).toBe(3);
    const rootBefore = Buffer.from(before.root()).toString('base64');
    const entries = Array.from({ length: before.size }, (_, i) => Buffer.from(before.entry(i)));
    const denies = before.query({ decision: 'deny' }).map((h) => h.index);
    await before.close();
    expect(rootBefore).toBe('VS2GKiLwr92a6U8NjJHdv2jCs92QxasJ/zNt8tiiHhc=');

    const after = await MerkleLog.open(ledger, { origin: 'fixture.example/sigil/audit' }); // writable: migrates
    try {
      expect(after.format).toBe(4);
      expect(Buffer.from(after.root()).toString('base64')).toBe(rootBefore);
      expect(entries.every((e, i) => e.equals(Buffer.from(after.entry(i))))).toBe(true);
      expect(after.query({ decision: 'deny' }).map((h) => h.index)).toEqual(denies);
      // The migrated log keeps growing on the new keys.
      await after.appendDecision(record(99));
      expect(after.size).toBe(13);
      const verifierKey = 'fixture.example/sigil/audit+5b1bf90a+ATFN4qISueuiAe9ItAZ+CZ9EbHLHoRF6CJApMvCTqCEi';
      expect(verifyLog(after, { verifierKey })).toMatchObject({ ok: true, size: 13, checkpoints: 1 });
    } finally {
      await after.close();
    }
    expect(await rawState(ledger)).toEqual({ version: 4, dbs: ['entries64', 'idx64', 'nodes64'] });
  });

  it('a read-only open reads format 3 as it is; a writable one migrates it, postings included', async () => {
    const dir = join(t.dir, 'plain');
    cpSync(pristine(), dir, { recursive: true });
    await expectSameLog(join(dir, 'ledger'), join(dir, 'archive'), 3);
    expect((await rawState(join(dir, 'ledger'))).version).toBe(3); // read-only: untouched
    const log = await MerkleLog.open(join(dir, 'ledger'), { archiveDir: join(dir, 'archive') });
    expect(postedIndices(log).sort((a, b) => a - b)).toEqual(posted);
    await log.close();
    await expectSameLog(join(dir, 'ledger'), join(dir, 'archive'), 4);
  });

  it('`sigil audit migrate` migrates once, with the same size and root; `audit verify` passes after', {
    timeout: 180_000,
  }, async () => {
    const data = join(t.dir, 'cli');
    cpSync(pristine(), data, { recursive: true }); // <data>/ledger and <data>/archive: the defaults
    const cli = (...args: string[]) => runCliSync(['--data', data, 'audit', ...args]);
    const m = cli('migrate');
    // The progress `sigil serve` logs, on stderr: start, the first chunk, the end with its duration.
    const lines = m.stderr.trim().split('\n');
    expect(lines.map((l) => l.replace(/ \{.*/, ''))).toEqual([
      'ledger migration started',
      'ledger migration progress',
      'ledger migration done',
    ]);
    const [start, progress, done] = lines.map((l) => JSON.parse(l.slice(l.indexOf('{'))));
    expect(start).toMatchObject({ from_format: 3, to_format: 4, entries: 1300, copied: 0 });
    expect(progress).toMatchObject({ copied: 788, records: start.records });
    expect(done).toEqual({ copied: start.records, records: start.records, ms: expect.any(Number) });
    expect(JSON.parse(m.stdout)).toEqual({
      format_before: 3,
      format: 4,
      migrated: true,
      size: 1300,
      root: root.toString('base64'),
    });
    expect(JSON.parse(cli('migrate').stdout)).toMatchObject({ format_before: 4, format: 4, migrated: false });
    const v = cli('verify');
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ ok: true, size: 1300, pruned: 512, archived: 512 });
  });

  it('a CLI command that appends directly (no sidecar) migrates first, with the same progress on stderr', {
    timeout: 180_000,
  }, async () => {
    const data = join(t.dir, 'cli-direct');
    cpSync(pristine(), data, { recursive: true });
    // `keys rotate` records key.rotate (and the first key's key.create) through recordLifecycle.
    const r = runCliSync(['--data', data, 'keys', 'rotate']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('ledger migration '))).toEqual([
      expect.stringMatching(/^ledger migration started \{"from_format":3,"to_format":4,"entries":1300,/),
      expect.stringMatching(/^ledger migration progress \{"copied":788,/),
      expect.stringMatching(/^ledger migration done \{"copied":\d+,"records":\d+,"ms":\d+\}$/),
    ]);
    const log = await MerkleLog.open(join(data, 'ledger'), { readOnly: true });
    try {
      expect(log.format).toBe(4);
      expect(log.size).toBeGreaterThan(1300);
    } finally {
      await log.close();
    }
  });

  it('survives SIGKILL after every migration step: format 3 or 4, verifiable, and the next open finishes', {
    timeout: 600_000,
  }, async () => {
    const run = (dir: string, crashAt: number) => {
      const r = spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          'test/ledger/fixtures/migrate-child.ts',
          join(dir, 'ledger'),
          String(crashAt),
          '400',
        ],
        { encoding: 'utf8', timeout: 120_000 },
      );
      if (r.status !== 0 && r.signal !== 'SIGKILL') throw new Error(`child failed: ${r.stderr}`);
      return { lines: r.stdout.split('\n').filter(Boolean), signal: r.signal };
    };
    const full = join(t.dir, 'full');
    cpSync(pristine(), full, { recursive: true });
    const clean = run(full, 0);
    const steps = clean.lines
      .filter((l) => l.startsWith('step '))
      .map((l) => l.split(' ').slice(2).join(' '));
    // 788 local entries in chunks of 400, then node rows and postings, then the switch and the drop.
    expect(steps.slice(0, 2)).toEqual(['entries 912', 'entries 1300']);
    expect(steps.slice(-2)).toEqual(['format', 'dropped']);
    expect(steps.some((s) => s.startsWith('nodes '))).toBe(true);
    expect(steps.some((s) => s.startsWith('idx '))).toBe(true);
    expect(clean.lines.at(-1)).toBe(`done ${steps.length} 4 1300`);

    for (let k = 1; k <= steps.length; k++) {
      const dir = join(t.dir, `crash-${k}`);
      cpSync(pristine(), dir, { recursive: true });
      expect(run(dir, k).signal, `killed after step ${k} (${steps[k - 1]})`).toBe('SIGKILL');
      const state = await rawState(join(dir, 'ledger'));
      // Before the switch: format 3 (the copies are extra databases no format-3 reader opens); after: 4.
      const switched = k >= steps.indexOf('format') + 1;
      expect(state.version, `after ${steps[k - 1]}`).toBe(switched ? 4 : 3);
      await expectSameLog(join(dir, 'ledger'), join(dir, 'archive'), switched ? 4 : 3);
      // Resume: the next writable open finishes (or only drops the old databases).
      expect(run(dir, 0).lines.at(-1)).toMatch(/^done \d+ 4 1300$/);
      expect(await rawState(join(dir, 'ledger'))).toEqual({
        version: 4,
        dbs: ['entries64', 'idx64', 'nodes64'],
      });
      await expectSameLog(join(dir, 'ledger'), join(dir, 'archive'), 4);
    }
  });
});
