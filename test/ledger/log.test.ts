/**
 * MerkleLog on real LMDB files: group commit under concurrency, dense ordered indices, roots/proofs of
 * past sizes against the pure functions, reopen, queries, events, checkpoints, bundles, fail-closed
 * commit guard, bad arguments.
 */
import { availableParallelism } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  encodeRecord,
  LedgerError,
  leafHash,
  MerkleLog,
  openCheckpoint,
  rootOf,
  verifyConsistency,
  verifyInclusion,
  verifyProofBundle,
} from '../../src/ledger/index.js';
import { hashThreadByDefault } from '../../src/ledger/lib/tree-hasher.js';
import { verifyLog } from '../../src/ledger/verify-log.js';
import { bytesOf, record, tempDir } from './helpers.js';

let t: { dir: string; cleanup: () => void };
beforeEach(() => {
  t = tempDir();
});
afterEach(() => t.cleanup());

const code = async (p: Promise<unknown> | (() => unknown)): Promise<string | undefined> => {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(LedgerError);
    return (e as LedgerError).code;
  }
  return undefined;
};

describe('appends', () => {
  it('concurrent appends share transactions, get dense indices in call order, and match rootOf', async () => {
    const log = await MerkleLog.open(t.dir);
    const data = Array.from({ length: 3000 }, (_, i) => bytesOf(`entry-${i}`));
    const indices = await Promise.all(data.map((d) => log.append(d)));
    expect(indices).toEqual(data.map((_, i) => i));
    expect(log.size).toBe(3000);
    expect(log.pending).toBe(0);
    for (const n of [0, 1, 2, 3, 255, 256, 257, 1000, 2047, 2048, 3000]) {
      expect(Buffer.from(log.root(n)).equals(Buffer.from(rootOf(data.slice(0, n)))), `root(${n})`).toBe(true);
    }
    for (const [i, n] of [
      [0, 1],
      [5, 6],
      [777, 1000],
      [2999, 3000],
      [1024, 2049],
    ] as const) {
      expect(
        verifyInclusion(leafHash(data[i] as Uint8Array), i, n, log.inclusionProof(i, n), log.root(n)),
      ).toBe(true);
    }
    for (const [m, n] of [
      [1, 2],
      [3, 7],
      [1000, 3000],
      [2048, 2049],
      [0, 5],
      [9, 9],
    ] as const) {
      expect(
        verifyConsistency(m, n, log.consistencyProof(m, n), log.root(m), log.root(n)),
        `${m}->${n}`,
      ).toBe(true);
    }
    expect(Buffer.from(log.entry(42)).toString()).toBe('entry-42');
    expect(verifyLog(log).ok).toBe(true);
    await log.close();
  });

  it('reopen restores size and frontier; later appends extend the same tree', async () => {
    const data = Array.from({ length: 77 }, (_, i) => bytesOf(`e${i}`));
    let log = await MerkleLog.open(t.dir);
    for (const d of data.slice(0, 45)) await log.append(d);
    await log.close();
    log = await MerkleLog.open(t.dir);
    expect(log.size).toBe(45);
    await Promise.all(data.slice(45).map((d) => log.append(d)));
    expect(Buffer.from(log.root()).equals(Buffer.from(rootOf(data)))).toBe(true);
    expect(verifyLog(log).ok).toBe(true);
    await log.close();
  });

  it('node rows (32 hashes per record) fill across batch sizes and reopens: every past root and proof holds', async () => {
    // Batches that end mid-row, exactly on a row edge, and span several rows, with a reopen after
    // each, so partial rows are re-read from disk and extended (docs/ledger.md §2).
    const sizes = [1, 30, 1, 33, 64, 2, 127, 1, 256, 5];
    const data: Uint8Array[] = [];
    for (const [b, n] of sizes.entries()) {
      const log = await MerkleLog.open(t.dir);
      const batch = Array.from({ length: n }, (_, i) => bytesOf(`row-${b}-${i}`));
      await Promise.all(batch.map((d) => log.append(d)));
      data.push(...batch);
      expect(log.size).toBe(data.length);
      await log.close();
    }
    const log = await MerkleLog.open(t.dir, { readOnly: true });
    for (let size = 1; size <= data.length; size += 7) {
      const root = log.root(size);
      expect(Buffer.from(root).equals(Buffer.from(rootOf(data.slice(0, size))))).toBe(true);
      const i = (size * 13) % size;
      expect(
        verifyInclusion(leafHash(data[i] as Uint8Array), i, size, log.inclusionProof(i, size), root),
      ).toBe(true);
    }
    expect(verifyLog(log).ok).toBe(true);
    await log.close();
  });

  it('the tree hasher thread runs by default only when the process may use more than one CPU', async () => {
    expect(hashThreadByDefault(1)).toBe(false);
    expect(hashThreadByDefault(2)).toBe(true);
    expect(hashThreadByDefault(64)).toBe(true);
    const opened: Array<[string, boolean]> = [];
    for (const [name, options] of [
      ['default', {}],
      ['on', { hashThread: true }],
      ['off', { hashThread: false }],
    ] as const) {
      const log = await MerkleLog.open(`${t.dir}/${name}`, options);
      opened.push([name, log.hashThread]);
      await log.close();
    }
    expect(opened).toEqual([
      ['default', availableParallelism() > 1],
      ['on', true],
      ['off', false],
    ]);
    const ro = await MerkleLog.open(`${t.dir}/on`, { readOnly: true, hashThread: true });
    expect(ro.hashThread).toBe(false);
    await ro.close();
  });

  it('long runs hashed on the tree hasher thread give the same tree and rows as hashing on the main thread', async () => {
    const data = Array.from({ length: 2500 }, (_, i) => bytesOf(`t${i}`));
    const roots: string[][] = [];
    for (const hashThread of [true, false]) {
      const dir = `${t.dir}/${hashThread}`;
      const log = await MerkleLog.open(dir, { hashThread });
      // Waves of different sizes: runs below and above the off-thread threshold, jobs queued behind jobs.
      for (const n of [1, 15, 16, 17, 500, 3, 1948]) {
        const start = log.size;
        await Promise.all(data.slice(start, start + n).map((d) => log.append(d)));
      }
      expect(log.size).toBe(data.length);
      roots.push([1, 16, 17, 33, 549, 1024, 2500].map((n) => Buffer.from(log.root(n)).toString('hex')));
      expect(verifyLog(log).ok).toBe(true);
      await log.close();
      const ro = await MerkleLog.open(dir, { readOnly: true });
      expect(verifyLog(ro).ok).toBe(true);
      await ro.close();
    }
    expect(roots[0]).toEqual(roots[1]);
    expect(roots[0]?.[6]).toBe(Buffer.from(rootOf(data)).toString('hex'));
  });

  it('a tree hasher thread that dies mid-load is replaced by hashing on the main thread: nothing lost', async () => {
    const log = await MerkleLog.open(t.dir);
    const data = Array.from({ length: 3000 }, (_, i) => bytesOf(`k${i}`));
    const first = Promise.all(data.slice(0, 2000).map((d) => log.append(d)));
    // Kill the worker while its first job is queued or running.
    await new Promise((r) => setImmediate(r));
    await (log as unknown as { commit: { hasher: { close(): Promise<void> } } }).commit.hasher.close();
    expect(await first).toEqual(data.slice(0, 2000).map((_, i) => i));
    await Promise.all(data.slice(2000).map((d) => log.append(d)));
    expect(Buffer.from(log.root()).equals(Buffer.from(rootOf(data)))).toBe(true);
    expect(Buffer.from(log.root(1500)).equals(Buffer.from(rootOf(data.slice(0, 1500))))).toBe(true);
    expect(verifyLog(log).ok).toBe(true);
    await log.close();
  });

  it('fast durability resolves at commit and keeps the same tree', async () => {
    const log = await MerkleLog.open(t.dir, { durability: 'fast' });
    const data = Array.from({ length: 500 }, (_, i) => bytesOf(`f${i}`));
    await Promise.all(data.map((d) => log.append(d)));
    expect(Buffer.from(log.root()).equals(Buffer.from(rootOf(data)))).toBe(true);
    const cp = await log.checkpoints.make();
    expect(cp.size).toBe(500);
    await log.close();
  });

  it('onAppend reports durable batches in order', async () => {
    const log = await MerkleLog.open(t.dir);
    const events: Array<{ first: number; size: number }> = [];
    const started = performance.now();
    const off = log.onAppend(({ first, size, seconds }) => {
      events.push({ first, size });
      expect(log.size).toBeGreaterThanOrEqual(size);
      // The commit wait, in seconds: positive and no longer than the test has been running (a unit check,
      // not a speed bound).
      expect(seconds).toBeGreaterThan(0);
      expect(seconds * 1000).toBeLessThanOrEqual(performance.now() - started + 1);
    });
    await Promise.all(Array.from({ length: 10 }, (_, i) => log.append(bytesOf(`a${i}`))));
    await log.append(bytesOf('b'));
    off();
    await log.append(bytesOf('c'));
    expect(events[0]?.first).toBe(0);
    expect(events[events.length - 1]).toEqual({ first: 10, size: 11 });
    for (let i = 1; i < events.length; i++) expect(events[i]?.first).toBe(events[i - 1]?.size);
    await log.close();
  });

  it('rejects bad arguments with LEDGER_BAD_ARGUMENT and use after close with LEDGER_CLOSED', async () => {
    const log = await MerkleLog.open(t.dir);
    await log.append(bytesOf('x'));
    expect(await code(log.append('x' as unknown as Uint8Array))).toBe('LEDGER_BAD_ARGUMENT');
    expect(await code(() => log.inclusionProof(1))).toBe('LEDGER_BAD_ARGUMENT');
    expect(await code(() => log.inclusionProof(-1))).toBe('LEDGER_BAD_ARGUMENT');
    expect(await code(() => log.inclusionProof(0, 2))).toBe('LEDGER_BAD_ARGUMENT');
    expect(await code(() => log.root(2))).toBe('LEDGER_BAD_ARGUMENT');
    expect(await code(() => log.root(0.5))).toBe('LEDGER_BAD_ARGUMENT');
    expect(await code(() => log.consistencyProof(2, 1))).toBe('LEDGER_BAD_ARGUMENT');
    expect(await code(() => log.entry(1))).toBe('LEDGER_BAD_ARGUMENT');
    expect(await code(() => log.query({ since: -5 }))).toBe('LEDGER_BAD_ARGUMENT');
    expect(await code(log.appendDecision({ v: 1 } as never))).toBe('LEDGER_RECORD_INVALID');
    expect(log.size).toBe(1);
    await log.close();
    expect(await code(log.append(bytesOf('y')))).toBe('LEDGER_CLOSED');
    expect(await code(MerkleLog.open(`${t.dir}/nope`, { readOnly: true }))).toBe('LEDGER_NOT_FOUND');
  });

  // 2 entries are hashed on the main thread, 40 on the tree hasher's (whose job is then in flight
  // across the reload).
  it.each([2, 40])(
    'fails closed when the commit guard is lost: the batch (%i entries) is rejected, state reloads, nothing is overwritten',
    async (n) => {
      const log = await MerkleLog.open(t.dir);
      for (let i = 0; i < 4; i++) await log.append(bytesOf(`e${i}`));
      // Our batch for index 4 is queued; before it commits a second writer appends index 4 itself.
      const ours = Array.from({ length: n }, (_, i) => log.append(bytesOf(`ours-${i}`)));
      const { env, entries, meta } = log.lmdb;
      const theirs = bytesOf('theirs');
      env.transactionSync(() => {
        entries.putSync(4, Buffer.from(theirs));
        meta.putSync('size', 5, 5);
      });
      for (const p of ours) expect(await code(p)).toBe('LEDGER_COMMIT_FAILED');
      expect(log.size).toBe(5);
      expect(Buffer.from(log.entry(4)).toString()).toBe('theirs');
      // The log carries on from the reloaded state.
      expect(await log.append(bytesOf('next'))).toBe(5);
      const all = ['e0', 'e1', 'e2', 'e3', 'theirs', 'next'].map(bytesOf);
      expect(Buffer.from(log.root()).equals(Buffer.from(rootOf(all)))).toBe(true);
      expect(verifyLog(log).ok).toBe(true);
      await log.close();
    },
  );
});

describe('small logs and the first index (regression: reverse cursors skip the smallest key)', () => {
  it('a 0- and a 1-entry log reopen; newest-first reads include index 0; checkpoints at size 0 and 1', async () => {
    let log = await MerkleLog.open(t.dir);
    expect((await log.checkpoints.make()).size).toBe(0);
    expect(log.checkpoints.latest()?.size).toBe(0);
    await log.close();
    log = await MerkleLog.open(t.dir);
    expect(log.size).toBe(0);
    await log.appendDecision(record(0));
    await log.close();
    log = await MerkleLog.open(t.dir);
    expect(log.size).toBe(1);
    expect(log.tail(5).map((h) => h.index)).toEqual([0]);
    expect(log.query({ task: 'task-0', order: 'desc' }).map((h) => h.index)).toEqual([0]);
    expect(log.query({ decision: 'deny', order: 'desc' }).map((h) => h.index)).toEqual([0]);
    expect(log.query({ since: 0, order: 'desc' }).map((h) => h.index)).toEqual([0]);
    await log.appendDecision(record(3));
    expect(log.tail(5).map((h) => h.index)).toEqual([1, 0]);
    expect(log.query({ decision: 'deny', order: 'desc' }).map((h) => h.index)).toEqual([1, 0]);
    await log.checkpoints.make();
    expect(log.checkpoints.latest()?.size).toBe(2);
    // A second handle on the same file in the same process sees the same state; writes from both are
    // serialised by the commit guard (the loser rejects and reloads).
    const other = await MerkleLog.open(t.dir);
    expect(other.size).toBe(2);
    expect(await other.append(bytesOf('from other'))).toBe(2);
    expect(await code(log.append(bytesOf('stale')))).toBe('LEDGER_COMMIT_FAILED');
    expect(await log.append(bytesOf('after reload'))).toBe(3);
    await other.close();
    expect(verifyLog(log).ok).toBe(true);
    await log.close();
  });
});

describe('decisions and queries', () => {
  it('indexes task, every chain sub, decision and time in the entry transaction', async () => {
    const log = await MerkleLog.open(t.dir);
    const recs = Array.from({ length: 60 }, (_, i) => record(i));
    const res = await Promise.all(recs.map((r) => log.appendDecision(r)));
    expect(res.map((r) => r.index)).toEqual(recs.map((_, i) => i));
    expect(Buffer.from(res[7]?.leafHash as Uint8Array).equals(Buffer.from(log.leafHashAt(7)))).toBe(true);
    await log.append(bytesOf('an opaque entry, not a record'));

    const idx = (hits: Array<{ index: number }>) => hits.map((h) => h.index);
    expect(idx(log.query({ task: 'task-2' }))).toEqual(recs.map((_, i) => i).filter((i) => i % 5 === 2));
    expect(idx(log.query({ agent: 'spiffe://sigil.mesh/agent/leaf/1' }))).toEqual(
      recs.map((_, i) => i).filter((i) => i % 4 === 1),
    );
    expect(log.query({ agent: 'spiffe://sigil.mesh/agent/root/0', limit: 1000 })).toHaveLength(60);
    expect(idx(log.query({ decision: 'deny' }))).toEqual(recs.map((_, i) => i).filter((i) => i % 3 === 0));
    const t0 = recs[10]?.ts as number;
    expect(idx(log.query({ since: t0, until: t0 + 4000 }))).toEqual([10, 11, 12, 13, 14]);
    expect(idx(log.query({ task: 'task-0', decision: 'deny', since: t0 }))).toEqual([15, 30, 45]);
    expect(idx(log.query({ decision: 'deny', order: 'desc', limit: 2 }))).toEqual([57, 54]);
    expect(idx(log.tail(3))).toEqual([59, 58, 57]);
    expect(log.query({ task: 'no-such-task' })).toEqual([]);
    expect(log.query({ task: 'task-1' })[0]?.record).toEqual(recs[1]);
    await log.close();
  });

  it('appendDecisionBytes stores canonical bytes as appendDecision would, indexed; refuses anything else', async () => {
    const a = await MerkleLog.open(t.dir);
    const recs = Array.from({ length: 12 }, (_, i) => record(i));
    const byObject = await Promise.all(recs.map((r) => a.appendDecision(r)));
    const rootA = a.root();
    await a.close();
    t.cleanup();
    t = tempDir();
    const b = await MerkleLog.open(t.dir);
    const byBytes = await Promise.all(recs.map((r) => b.appendDecisionBytes(encodeRecord(r))));
    expect(byBytes.map((r) => r.index)).toEqual(byObject.map((r) => r.index));
    expect(byBytes.map((r) => Buffer.from(r.leafHash).toString('hex'))).toEqual(
      byObject.map((r) => Buffer.from(r.leafHash).toString('hex')),
    );
    expect(Buffer.from(b.root()).equals(Buffer.from(rootA))).toBe(true);
    expect(b.query({ task: 'task-2' }).map((h) => h.index)).toEqual([2, 7]);
    // Each refused before anything is appended: not UTF-8 JSON, not canonical (spaces, key order), not a
    // valid record, a slice of a record.
    const canonical = new TextDecoder().decode(encodeRecord(record(20)));
    const bad = [
      new Uint8Array([0xff, 0xfe]),
      bytesOf(JSON.stringify(record(20), null, 1)),
      bytesOf(
        JSON.stringify({ ...record(20), v: 1 })
          .replace('{"v":1,', '{')
          .replace(/}$/, ',"v":1}'),
      ),
      bytesOf(canonical.replace('"code":"OK"', '"code":7')),
      encodeRecord(record(20)).subarray(0, 40),
    ];
    for (const x of bad) expect(await code(b.appendDecisionBytes(x))).toBe('LEDGER_RECORD_INVALID');
    expect(b.size).toBe(12);
    await b.close();
  });

  it('defers index postings: queries merge stored and pending ones; another opener re-derives them; close stores them', async () => {
    const log = await MerkleLog.open(t.dir);
    const idxKeys = () =>
      [...log.lmdb.env.openDB('idx64', { encoding: 'binary' }).getKeys({})] as Array<Array<string | number>>;
    const recs = Array.from({ length: 60 }, (_, i) => record(i));
    await Promise.all(recs.slice(0, 30).map((r) => log.appendDecision(r)));
    expect(idxKeys()).toEqual([]); // nothing stored yet: the commit carried only the entries
    await log.settled(); // stores the pending postings (an empty batch carries them)
    expect(log.lmdb.meta.get('indexed')).toBe(30);
    const stored = idxKeys().length;
    expect(stored).toBeGreaterThan(0);
    await Promise.all(recs.slice(30).map((r) => log.appendDecision(r)));
    expect(idxKeys().length).toBe(stored); // the second half is pending

    const all = recs.map((_, i) => i);
    const expectQueries = (l: MerkleLog) => {
      const idx = (hits: Array<{ index: number }>) => hits.map((h) => h.index);
      expect(idx(l.query({ task: 'task-2' }))).toEqual(all.filter((i) => i % 5 === 2));
      expect(idx(l.query({ task: 'task-2', order: 'desc' }))).toEqual(
        all.filter((i) => i % 5 === 2).reverse(),
      );
      expect(idx(l.query({ decision: 'deny', order: 'desc', limit: 12 }))).toEqual(
        all
          .filter((i) => i % 3 === 0)
          .reverse()
          .slice(0, 12),
      );
      const t0 = recs[20]?.ts as number;
      expect(idx(l.query({ since: t0, until: t0 + 19_000 }))).toEqual(all.slice(20, 40));
      expect(idx(l.query({ since: t0, until: t0 + 19_000, order: 'desc' }))).toEqual(
        all.slice(20, 40).reverse(),
      );
      expect(l.query({ agent: 'spiffe://sigil.mesh/agent/root/0', limit: 1000 })).toHaveLength(60);
    };
    expectQueries(log);
    // A second opener (as the CLI would, read-only) sees the watermark at 30 and re-derives 30..59.
    const reader = await MerkleLog.open(t.dir, { readOnly: true });
    expectQueries(reader);
    await reader.close();
    await log.close();
    const reopened = await MerkleLog.open(t.dir, { readOnly: true });
    expect(reopened.lmdb.meta.get('indexed')).toBe(60);
    expectQueries(reopened);
    await reopened.close();
  });

  it('defers node rows: roots and proofs answer before they are stored; other openers re-derive them; close stores them', async () => {
    const log = await MerkleLog.open(t.dir);
    const nodeRows = () =>
      [...log.lmdb.env.openDB('nodes64', { keyEncoding: 'binary', encoding: 'binary' }).getKeys({})].length;
    const data = Array.from({ length: 300 }, (_, i) => bytesOf(`entry-${i}`));
    const expectTree = (l: MerkleLog, n: number) => {
      for (const m of [1, 2, 33, 64, 65, n - 1, n]) {
        expect(Buffer.from(l.root(m)).equals(Buffer.from(rootOf(data.slice(0, m)))), `root(${m})`).toBe(true);
      }
      for (const i of [0, 31, 64, n - 2, n - 1]) {
        const proof = l.inclusionProof(i, n);
        expect(verifyInclusion(leafHash(data[i] as Uint8Array), i, n, proof, l.root(n)), `proof ${i}`).toBe(
          true,
        );
      }
      expect(verifyLog(l).ok).toBe(true);
    };
    // Five commits of 30: each commit's tree nodes are computed after its submit, so at least the last
    // batch's nodes exist only in memory until a later commit or settle stores them.
    for (let c = 0; c < 5; c++) await Promise.all(data.slice(c * 30, c * 30 + 30).map((d) => log.append(d)));
    expect(log.lmdb.meta.get('tree')).toBeLessThanOrEqual(120);
    expectTree(log, 150);
    await log.settled();
    expect(log.lmdb.meta.get('tree')).toBe(150);
    const stored = nodeRows();
    expect(stored).toBeGreaterThan(0);
    await Promise.all(data.slice(150).map((d) => log.append(d)));
    expect(log.lmdb.meta.get('tree')).toBe(150); // the second half's nodes are in memory only
    expect(nodeRows()).toBe(stored);
    expectTree(log, 300);
    // A second opener (the CLI, read-only) finds the watermark at 150 and re-derives 150..299.
    const reader = await MerkleLog.open(t.dir, { readOnly: true });
    expectTree(reader, 300);
    await reader.close();
    await log.close();
    const reopened = await MerkleLog.open(t.dir);
    expect(reopened.lmdb.meta.get('tree')).toBe(300);
    expectTree(reopened, 300);
    await reopened.close();
  });

  it('time queries are exact to the millisecond although postings group records by second', async () => {
    const log = await MerkleLog.open(t.dir);
    const base = 1_767_225_600_000;
    // 12 records 250 ms apart, in three separate commits: postings of one second span batches.
    const ts = Array.from({ length: 12 }, (_, i) => base + i * 250);
    for (const chunk of [ts.slice(0, 5), ts.slice(5, 7), ts.slice(7)]) {
      await Promise.all(chunk.map((x) => log.appendDecision(record(ts.indexOf(x), { ts: x }))));
    }
    const idx = (hits: Array<{ index: number }>) => hits.map((h) => h.index);
    expect(idx(log.query({ since: base + 251, until: base + 1750 }))).toEqual([2, 3, 4, 5, 6, 7]);
    expect(idx(log.query({ since: base + 500, until: base + 500 }))).toEqual([2]);
    expect(idx(log.query({ since: base + 999, order: 'desc', limit: 5 }))).toEqual([11, 10, 9, 8, 7]);
    expect(idx(log.query({ until: base + 249 }))).toEqual([0]);
    await log.close();
  });

  it('indexes over-long values by hash and still matches exactly', async () => {
    const log = await MerkleLog.open(t.dir);
    const long = `spiffe://sigil.mesh/agent/${'x'.repeat(1500)}`;
    await log.appendDecision(record(1, { sub: long, task_id: 'T'.repeat(2000) }));
    await log.appendDecision(record(2));
    expect(log.query({ agent: long }).map((h) => h.index)).toEqual([0]);
    expect(log.query({ task: 'T'.repeat(2000) }).map((h) => h.index)).toEqual([0]);
    expect(log.query({ task: 'T'.repeat(1999) })).toEqual([]);
    await log.close();
  });
});

describe('checkpoints and offline bundles', () => {
  it('signs C2SP checkpoints, stores each by size, and bundles verify with the verifier key only', async () => {
    const log = await MerkleLog.open(t.dir, { origin: 'test.example/audit' });
    for (let i = 0; i < 20; i++) await log.appendDecision(record(i));
    const cp = await log.checkpoints.make();
    expect(cp.note.split('\n').slice(0, 2)).toEqual(['test.example/audit', '20']);
    expect(await log.checkpoints.make()).toEqual(cp);
    const opened = openCheckpoint(cp.note, log.checkpoints.verifierKey);
    expect(Buffer.from(opened.root).equals(Buffer.from(log.root(20)))).toBe(true);
    await log.appendDecision(record(20));
    const bundle = await log.checkpoints.bundle(20);
    const v = verifyProofBundle(bundle, log.checkpoints.verifierKey);
    expect(v).toMatchObject({ index: 20, size: 21, origin: 'test.example/audit' });
    expect(log.checkpoints.latest()?.size).toBe(21);
    expect([...log.checkpoints.stored()].map((c) => c.size)).toEqual([20, 21]);
    // Any change to the bundle is caught.
    const lines = bundle.split('\n');
    const tamperedEntry = bundle.replace(
      /^extra .*$/m,
      `extra ${Buffer.from(log.entry(3)).toString('base64')}`,
    );
    expect(() => verifyProofBundle(tamperedEntry, log.checkpoints.verifierKey)).toThrow(
      expect.objectContaining({ code: 'LEDGER_PROOF_INVALID' }),
    );
    const wrongIndex = bundle.replace('index 20', 'index 19');
    expect(() => verifyProofBundle(wrongIndex, log.checkpoints.verifierKey)).toThrow(
      expect.objectContaining({ code: 'LEDGER_PROOF_INVALID' }),
    );
    const flipped = [...lines];
    flipped[3] = Buffer.from(
      Buffer.from(flipped[3] as string, 'base64').map((b, i) => (i === 0 ? b ^ 1 : b)),
    ).toString('base64');
    expect(() => verifyProofBundle(flipped.join('\n'), log.checkpoints.verifierKey)).toThrow(
      expect.objectContaining({ code: 'LEDGER_PROOF_INVALID' }),
    );
    const forgedSize = bundle.replace('\n21\n', '\n22\n');
    expect(() => verifyProofBundle(forgedSize, log.checkpoints.verifierKey)).toThrow(
      expect.objectContaining({ code: 'LEDGER_SIGNATURE_INVALID' }),
    );
    const other = await MerkleLog.open(`${t.dir}/other`, { origin: 'test.example/audit' });
    expect(() => verifyProofBundle(bundle, other.checkpoints.verifierKey)).toThrow(
      expect.objectContaining({ code: 'LEDGER_SIGNATURE_INVALID' }),
    );
    await other.close();
    await log.close();
    // The key persists: same verifier key after reopen.
    const again = await MerkleLog.open(t.dir, { origin: 'test.example/audit' });
    expect(again.checkpoints.verifierKey).toBe(v && log.checkpoints.verifierKey);
    await again.close();
  });

  it('makes checkpoints on the configured interval when the log grew', async () => {
    const log = await MerkleLog.open(t.dir, { checkpointIntervalSec: 1 });
    await log.append(bytesOf('a'));
    await new Promise((r) => setTimeout(r, 1300));
    expect(log.checkpoints.latest()?.size).toBe(1);
    await log.close();
  });
});
