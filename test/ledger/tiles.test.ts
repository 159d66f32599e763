/**
 * Retention (docs/ledger.md §10): C2SP tlog-tiles encoding, export of sealed ranges to a real archive
 * directory, pruning of the local bodies, and proofs / reads / verify of every index afterwards.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  encodeRecord,
  leafHash,
  MerkleLog,
  openCheckpoint,
  parseVerifierKey,
  rootOf,
  verifyConsistency,
  verifyInclusion,
} from '../../src/ledger/index.js';
import { decodeBundle, encodeBundle, tilePath, tilesOf } from '../../src/ledger/lib/tiles.js';
import { verifyLog } from '../../src/ledger/verify-log.js';
import { postedIndices, record, tempDir } from './helpers.js';
import { EXAMPLES } from './lifecycle-examples.js';

let t: { dir: string; cleanup: () => void };
beforeEach(() => {
  t = tempDir();
});
afterEach(() => t.cleanup());

const DAY = 86_400_000;
/** Record times start here (helpers.record): "now" is 10 days later, so every record is expired. */
const T0 = 1_767_225_600_000;

describe('tlog-tiles encoding', () => {
  it('encodes tile indices as x-prefixed 3-digit path elements', () => {
    expect(tilePath(0, 5)).toBe('tile/0/005');
    expect(tilePath(2, 1234067)).toBe('tile/2/x001/x234/067');
    expect(tilePath(1, 1000)).toBe('tile/1/x001/000');
    expect(tilePath('entries', 999, 17)).toBe('tile/entries/999.p/17');
    expect(tilePath(0, 0, 255)).toBe('tile/0/000.p/255');
  });

  it('lists the tiles of the spec example trees', () => {
    // tlog-tiles "Partial Tiles": 70,000 = 273 full + 112 at level 0, 1 + 17 at level 1, 1 at level 2.
    expect(tilesOf(70_000)).toEqual([
      { level: 0, full: 273, partial: 112 },
      { level: 1, full: 1, partial: 17 },
      { level: 2, full: 0, partial: 1 },
    ]);
    expect(tilesOf(256)).toEqual([
      { level: 0, full: 1, partial: 0 },
      { level: 1, full: 0, partial: 1 },
    ]);
    expect(tilesOf(0)).toEqual([]);
  });

  it('round-trips entry bundles and rejects malformed ones', () => {
    const entries = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array(300).fill(7)];
    const b = encodeBundle(entries, 0);
    expect(b.readUInt16BE(0)).toBe(3);
    expect(decodeBundle(b, 3)?.map((e) => [...e])).toEqual(entries.map((e) => [...e]));
    expect(decodeBundle(b, 2)).toBeUndefined();
    expect(decodeBundle(b.subarray(0, b.length - 1), 3)).toBeUndefined();
    expect(() => encodeBundle([new Uint8Array(65_536)], 7)).toThrow(/entry 7 is 65536 bytes/);
  });
});

/** A log of `n` decision records (times T0 + i s), with retention `retentionMs` and the archive in t.dir. */
async function logOf(n: number, retentionMs = DAY, archive = true): Promise<MerkleLog> {
  const log = await MerkleLog.open(join(t.dir, 'ledger'), {
    retentionMs,
    ...(archive ? { archiveDir: join(t.dir, 'archive') } : {}),
  });
  await Promise.all(Array.from({ length: n - log.size }, (_, i) => log.appendDecision(record(log.size + i))));
  return log;
}

describe('export and prune', () => {
  it('archives sealed tiles, prunes their bodies, and keeps every index provable and readable', async () => {
    const log = await logOf(1000);
    const before = Array.from({ length: 1000 }, (_, i) => Buffer.from(log.entry(i)));
    const r = await log.compact({ now: T0 + 10 * DAY });
    // Full tiles below min(tree − 1, indexed, size − 1) = 999: three of them.
    expect(r).toMatchObject({ prunedBefore: 0, pruned: 768, checkpoint: 1000 });
    expect(log.pruned).toBe(768);
    const archive = join(t.dir, 'archive');
    for (const p of ['tile/0/000', 'tile/0/002', 'tile/0/003.p/232', 'tile/1/000.p/3', 'tile/entries/002']) {
      expect(existsSync(join(archive, p)), p).toBe(true);
    }
    expect(existsSync(join(archive, 'tile/entries/003'))).toBe(false);
    expect(readFileSync(join(archive, 'tile/0/001')).length).toBe(8192);
    // The bodies are gone from LMDB, the tail is still there.
    expect(log.lmdb.entries.getBinary(0)).toBeUndefined();
    expect(log.lmdb.entries.getBinary(767)).toBeUndefined();
    expect(log.lmdb.entries.getBinary(768)).toBeDefined();
    // Node rows of levels 0–7 wholly inside [0, 768) are gone too (key [level, row], 32 nodes a row);
    // level 8 and rows reaching past 768 stay.
    const row = (level: number, r: number) => log.lmdb.nodes.getBinary([level, r]);
    expect([row(0, 0), row(0, 23), row(2, 5), row(3, 2), row(4, 0)]).toEqual(Array(5).fill(undefined));
    expect(row(0, 24)).toBeDefined(); // leaves 768..799
    expect(row(3, 3)).toBeDefined(); // level 3 row 3: leaves 768..1023
    expect(row(4, 1)).toBeDefined(); // leaves 512..1023
    expect(row(8, 0)).toBeDefined();
    // The archive's checkpoint is the log's signed note and verifies with the log's key.
    const cp = openCheckpoint(
      readFileSync(join(archive, 'checkpoint'), 'utf8'),
      parseVerifierKey(log.checkpoints.verifierKey),
      log.origin,
    );
    expect(cp.size).toBe(1000);
    expect(Buffer.from(cp.root).equals(Buffer.from(rootOf(before)))).toBe(true);
    // Every index: body from the archive or LMDB, and a proof from the kept node rows.
    const root = log.root();
    for (let i = 0; i < 1000; i++) {
      expect(Buffer.from(log.entry(i)).equals(before[i] as Buffer), `entry ${i}`).toBe(true);
      expect(verifyInclusion(leafHash(before[i] as Buffer), i, 1000, log.inclusionProof(i), root)).toBe(true);
    }
    expect(verifyConsistency(100, 1000, log.consistencyProof(100), log.root(100), root)).toBe(true);
    // Queries decode archived records.
    expect(log.query({ task: 'task-1', limit: 1000 }).length).toBe(200);
    const report = verifyLog(log);
    expect(report).toMatchObject({ ok: true, size: 1000, entries: 1000, pruned: 768, archived: 768 });
    await log.close();

    // Reopened: the same state; a second run with nothing new writes nothing.
    const again = await logOf(1000);
    expect(again.pruned).toBe(768);
    expect(await again.compact({ now: T0 + 10 * DAY })).toMatchObject({ pruned: 768, filesWritten: 0 });
    await again.close();
  });

  it('keeps entries newer than the retention and resumes from the previous run', async () => {
    const log = await logOf(2100, DAY);
    // Cut-off at T0 + 600 s: tiles whose newest entry is older (entries 0..511) go; 512..767 ends at 767 s.
    const r1 = await log.compact({ now: T0 + 600_000 + DAY });
    expect(r1.pruned).toBe(512);
    const r2 = await log.compact({ now: T0 + 1800_000 + DAY });
    expect(r2).toMatchObject({ prunedBefore: 512, pruned: 1792 });
    expect(verifyLog(log)).toMatchObject({ ok: true, pruned: 1792, archived: 1792 });
    await log.close();
  });

  it('prunes the postings of archived ranges; queries scan the archive for them', async () => {
    const log = await logOf(1000);
    const queries = [
      { task: 'task-1', limit: 1000 },
      { agent: 'spiffe://sigil.mesh/agent/leaf/2', limit: 1000, order: 'desc' as const },
      { decision: 'deny' as const, limit: 50, order: 'desc' as const },
      { since: T0 + 700_000, until: T0 + 800_000, limit: 1000 },
      { task: 'task-3', since: T0 + 100_000, limit: 7 },
    ];
    const expected = queries.map((q) => log.query(q).map((h) => h.index));
    await log.compact({ now: T0 + 10 * DAY });
    // No stored posting lists an index below the pruned watermark; the tail's postings are intact.
    const stored = postedIndices(log);
    expect(stored.length).toBeGreaterThan(0);
    expect(Math.min(...stored)).toBe(768);
    expect(new Set(stored).size).toBe(232);
    expect(log.lmdb.meta.get('pruned_ts')).toBe(T0 + 767_000);
    // Same answers as before the prune, in the same order: archived entries come from the bundles.
    expect(queries.map((q) => log.query(q).map((h) => h.index))).toEqual(expected);
    await log.close();

    // Without the archive: a query that reaches the archived range fails closed; one whose `since` is
    // after the newest archived entry does not need it.
    const bare = await MerkleLog.open(join(t.dir, 'ledger'), { readOnly: true });
    expect(() => bare.query({ task: 'task-1' })).toThrow(
      expect.objectContaining({ code: 'LEDGER_ARCHIVED' }),
    );
    expect(() => bare.query({ since: T0 + 767_000 })).toThrow(
      expect.objectContaining({ code: 'LEDGER_ARCHIVED' }),
    );
    const recent = bare.query({ task: 'task-1', since: T0 + 767_001, limit: 1000 }).map((h) => h.index);
    expect(recent).toEqual(expected[0]?.filter((i) => i >= 768));
    await bare.close();

    // Each pruned tile's newest time is kept: a query skips the bundles of tiles older than its `since`.
    // With bundle 0 gone, a query from 300 s on (tile 0 ends at 255 s) still answers; one from 100 s on
    // needs it.
    rmSync(join(t.dir, 'archive', tilePath('entries', 0)));
    const mounted = await MerkleLog.open(join(t.dir, 'ledger'), {
      readOnly: true,
      archiveDir: join(t.dir, 'archive'),
    });
    expect(mounted.archivedTileTime(0)).toBe(T0 + 255_000);
    expect(mounted.archivedTileTime(2)).toBe(T0 + 767_000);
    expect(mounted.query(queries[3] as object).map((h) => h.index)).toEqual(expected[3]);
    const q = { task: 'task-1', since: T0 + 300_000, limit: 1000, order: 'desc' as const };
    expect(mounted.query(q).map((h) => h.index)).toEqual(expected[0]?.filter((i) => i >= 300).reverse());
    expect(() => mounted.query({ task: 'task-1', since: T0 + 100_000 })).toThrow(
      expect.objectContaining({ code: 'LEDGER_ARCHIVED' }),
    );
    await mounted.close();
  });

  it('reports LEDGER_ARCHIVED for pruned bodies and low nodes without the archive', async () => {
    const log = await logOf(300);
    await log.checkpoints.make(); // a checkpoint inside what gets pruned
    await Promise.all(Array.from({ length: 300 }, (_, i) => log.appendDecision(record(300 + i))));
    await log.compact({ now: T0 + 10 * DAY });
    const leaf = log.leafHashAt(3);
    const root = log.root();
    await log.close();
    const bare = await MerkleLog.open(join(t.dir, 'ledger'), { readOnly: true });
    expect(() => bare.entry(3)).toThrow(expect.objectContaining({ code: 'LEDGER_ARCHIVED' }));
    // Its low node rows went with it: proofs that need them need the archive; the root does not.
    expect(() => bare.inclusionProof(3)).toThrow(expect.objectContaining({ code: 'LEDGER_ARCHIVED' }));
    expect(() => bare.consistencyProof(100)).toThrow(expect.objectContaining({ code: 'LEDGER_ARCHIVED' }));
    expect(Buffer.from(bare.root()).equals(Buffer.from(root))).toBe(true);
    expect(verifyInclusion(bare.leafHashAt(599), 599, 600, bare.inclusionProof(599), bare.root())).toBe(true);
    expect(verifyConsistency(512, 600, bare.consistencyProof(512), bare.root(512), bare.root())).toBe(true);
    expect(Buffer.from(bare.entry(599)).length).toBeGreaterThan(0);
    // Mounted again, every proof works.
    const mounted = await MerkleLog.open(join(t.dir, 'ledger'), {
      readOnly: true,
      archiveDir: join(t.dir, 'archive'),
    });
    expect(verifyInclusion(leaf, 3, 600, mounted.inclusionProof(3), mounted.root())).toBe(true);
    const full = verifyLog(mounted);
    expect(full).toMatchObject({ ok: true, archived: 512, checkpoints: 2 });
    expect(full).not.toHaveProperty('consistencyUnchecked');
    await mounted.close();
    // Without the archive, verify checks the tree from the kept level-8 nodes up; the consistency of
    // checkpoints 300 and 600 needs pruned nodes: counted as unchecked, not as a problem.
    expect(verifyLog(bare)).toMatchObject({ ok: true, pruned: 512, archived: 0, consistencyUnchecked: 1 });
    await bare.close();
  });

  it('detects a tampered entry bundle and hash tile in the archive', async () => {
    const log = await logOf(600);
    await log.compact({ now: T0 + 10 * DAY });
    await log.close();
    const bundle = join(t.dir, 'archive', 'tile/entries/001');
    const b = readFileSync(bundle);
    b[40] = (b[40] as number) ^ 1;
    writeFileSync(bundle, b);
    const tile = join(t.dir, 'archive', 'tile/0/000');
    const h = readFileSync(tile);
    h[0] = (h[0] as number) ^ 1;
    writeFileSync(tile, h);
    const ro = await MerkleLog.open(join(t.dir, 'ledger'), {
      readOnly: true,
      archiveDir: join(t.dir, 'archive'),
    });
    expect(() => ro.entry(256)).toThrow(expect.objectContaining({ code: 'LEDGER_CORRUPT' }));
    // The tampered level-0 tile no longer matches the kept level-8 node: refused on every read through it.
    expect(() => ro.entry(3)).toThrow(expect.objectContaining({ code: 'LEDGER_CORRUPT' }));
    expect(() => ro.inclusionProof(3)).toThrow(expect.objectContaining({ code: 'LEDGER_CORRUPT' }));
    const report = verifyLog(ro);
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => [p.kind, p.index])).toEqual(
      expect.arrayContaining([
        ['archive', 0],
        ['entry', 256],
      ]),
    );
    await ro.close();
    // A run refuses to overwrite an archive file that disagrees with the log, and prunes nothing then.
    writeFileSync(join(t.dir, 'archive', 'tile/entries/003'), 'not the log');
    const w = await logOf(1100);
    await expect(w.compact({ now: T0 + 10 * DAY })).rejects.toMatchObject({ code: 'LEDGER_CORRUPT' });
    expect(w.pruned).toBe(512);
    await w.close();
  });

  it('compacts while appends keep coming: every append resolves and the log verifies', async () => {
    const log = await logOf(1500);
    let stop = false;
    const writer = (async () => {
      const got: number[] = [];
      for (let i = 1500; !stop; i++) got.push((await log.appendDecision(record(i))).index);
      return got;
    })();
    const [a, b] = await Promise.all([
      log.compact({ now: T0 + 10 * DAY }),
      log.compact({ now: T0 + 10 * DAY }),
    ]);
    expect(b).toBe(a); // one run at a time: the second call joins the first
    stop = true;
    const appended = await writer;
    expect(appended.length).toBeGreaterThan(0);
    expect(appended).toEqual(appended.map((_, i) => 1500 + i));
    expect(a.pruned).toBeGreaterThanOrEqual(1280);
    expect(verifyLog(log)).toMatchObject({ ok: true, size: 1500 + appended.length, pruned: a.pruned });
    await log.close();
  });

  it('refuses entries over 65 535 bytes at append (LEDGER_ENTRY_TOO_LARGE); one of 65 535 is archived: compaction never stalls', async () => {
    const log = await logOf(5);
    // A decision record of exactly `bytes` canonical bytes: 14 hops of long names, the path pads the rest.
    const hop = (k: number) => ({
      sub: 's'.repeat(2048),
      iss: 'i'.repeat(2048),
      jti: `j${k}`,
      tool_scope: ['fs.read'],
      exp: 9,
    });
    const sized = (bytes: number) => {
      const base = record(5, { chain: Array.from({ length: 14 }, (_, k) => hop(k)), depth: 14, path: '/' });
      return { ...base, path: `/${'p'.repeat(bytes - encodeRecord(base).length)}` };
    };
    expect(encodeRecord(sized(65_536))).toHaveLength(65_536);
    await expect(log.appendDecision(sized(65_536))).rejects.toMatchObject({ code: 'LEDGER_ENTRY_TOO_LARGE' });
    await expect(log.append(new Uint8Array(65_536))).rejects.toMatchObject({
      code: 'LEDGER_ENTRY_TOO_LARGE',
    });
    // Multi-byte text: fewer UTF-16 units than bytes, still counted in bytes.
    const wide = record(5, {
      path: `/${'é'.repeat(8000)}`,
      chain: Array.from({ length: 12 }, (_, k) => hop(k)),
    });
    expect(encodeRecord(wide).length).toBeGreaterThan(65_535);
    await expect(log.appendDecision(wide)).rejects.toMatchObject({ code: 'LEDGER_ENTRY_TOO_LARGE' });
    expect(log.size).toBe(5); // nothing was written, the log goes on
    const max = sized(65_535);
    expect((await log.appendDecision(max)).index).toBe(5);
    await Promise.all(Array.from({ length: 300 }, (_, i) => log.appendDecision(record(6 + i))));
    expect((await log.compact({ now: T0 + 10 * DAY })).pruned).toBe(256);
    expect(log.lmdb.entries.getBinary(5)).toBeUndefined(); // pruned: read back from its bundle
    expect(Buffer.from(log.entry(5)).equals(Buffer.from(encodeRecord(max)))).toBe(true);
    expect(verifyLog(log)).toMatchObject({ ok: true, pruned: 256, archived: 256 });
    await log.close();
  });

  it('the archive index lets a query read only the bundles that may match; it is rebuilt when missing and verified', async () => {
    const log = await logOf(700);
    // Rare entries: one task and one lifecycle kind, both in tile 2.
    const rare = await log.appendDecision(record(700, { task_id: 'rare-task' })); // index 700: tile 2
    const rotate = await log.appendLifecycle({ ...EXAMPLES['key.rotate'], ts: T0 + 701_000 }); // 701
    await Promise.all(Array.from({ length: 400 }, (_, i) => log.appendDecision(record(702 + i))));
    expect((await log.compact({ now: T0 + 10 * DAY })).pruned).toBe(1024);
    const sums = Array.from({ length: 4 }, (_, n) => log.archivedTileSummary(n));
    expect(sums.every((x) => x instanceof Uint8Array)).toBe(true);
    expect(log.lmdb.meta.get('summarized')).toBe(4);

    // Only tile 2's bundle stays: queries that the index confines to it still answer; others cannot.
    const bundles = join(t.dir, 'archive', 'tile', 'entries');
    const saved = [0, 1, 3].map((n) => [n, readFileSync(join(bundles, `00${n}`))] as const);
    for (const [n] of saved) rmSync(join(bundles, `00${n}`));
    expect(log.queryEntries({ task: 'rare-task' }).map((h) => h.index)).toEqual([rare.index]);
    expect(log.queryEntries({ kind: 'key.rotate' }).map((h) => h.index)).toEqual([rotate.index]);
    const t600 = T0 + 600 * 1000;
    expect(log.query({ since: t600, until: t600 + 2000 }).map((h) => h.index)).toEqual([600, 601, 602]);
    expect(() => log.query({ task: 'task-2' })).toThrow(expect.objectContaining({ code: 'LEDGER_ARCHIVED' }));
    for (const [n, b] of saved) writeFileSync(join(bundles, `00${n}`), b);

    // Lost (or never made, by a version before it): the next compaction rebuilds it from the bundles.
    log.lmdb.env.transactionSync(() => {
      for (let n = 0; n < 4; n++) log.lmdb.meta.removeSync(['tile_sum', n]);
      log.lmdb.meta.removeSync('summarized');
    });
    expect(log.archivedTileSummary(0)).toBeUndefined();
    expect(log.queryEntries({ task: 'rare-task' }).map((h) => h.index)).toEqual([rare.index]); // full scan
    await log.compact({ now: T0 + 10 * DAY });
    expect(Array.from({ length: 4 }, (_, n) => log.archivedTileSummary(n))).toEqual(sums);
    expect(verifyLog(log)).toMatchObject({ ok: true, pruned: 1024 });

    // A summary that lies about its tile is reported by verify (it could hide entries from queries).
    log.lmdb.env.transactionSync(() => log.lmdb.meta.putSync(['tile_sum', 1], sums[0]));
    const report = verifyLog(log);
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      expect.objectContaining({
        kind: 'archive',
        index: 256,
        message: expect.stringMatching(/archive index of tile 1/),
      }),
    ]);
    await log.close();
  });

  it('refuses to compact without a retention or archive, and read-only', async () => {
    const log = await MerkleLog.open(join(t.dir, 'ledger'), {});
    await expect(log.compact()).rejects.toMatchObject({ code: 'LEDGER_BAD_ARGUMENT' });
    await log.close();
    const ro = await MerkleLog.open(join(t.dir, 'ledger'), {
      readOnly: true,
      retentionMs: 1,
      archiveDir: t.dir,
    });
    await expect(ro.compact()).rejects.toMatchObject({ code: 'LEDGER_BAD_ARGUMENT' });
    await ro.close();
  });
});
