/**
 * `durability: journal` (docs/ledger.md §3 "Journal"): appends resolve once their frame is in
 * `ledger.journal`; a writable open replays what LMDB lacks, and refuses a journal that does not follow
 * the log. Crash images are built in-process: the LMDB file copied while nothing is in flight, then the
 * journal copied once later appends resolved from it alone (LMDB's commit is held back).
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LedgerError, MerkleLog, rootOf } from '../../src/ledger/index.js';
import { JOURNAL_FILE, readJournal } from '../../src/ledger/lib/journal.js';
import { BLOCK, decodeFrame, encodeFrame, RING_START } from '../../src/ledger/lib/journal-format.js';
import { verifyLog } from '../../src/ledger/verify-log.js';
import { bytesOf, record, tempDir } from './helpers.js';

let t: { dir: string; cleanup: () => void };
beforeEach(() => {
  t = tempDir();
});
afterEach(() => t.cleanup());

const HOLD = { durability: 'journal', commitDelayMs: 600_000 } as const;
const code = async (p: Promise<unknown> | (() => unknown)): Promise<string | undefined> => {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return e instanceof LedgerError ? e.code : `not a LedgerError: ${String(e)}`;
  }
  return undefined;
};
/** Digests of the LMDB file and the journal (a 16 MiB buffer is too big for a readable diff). */
const files = (dir: string): string[] =>
  ['ledger.mdb', JOURNAL_FILE].map((f) =>
    createHash('sha256')
      .update(readFileSync(join(dir, f)))
      .digest('hex'),
  );

/**
 * A crash image in `<t.dir>/<name>`: LMDB holding `base` decisions (0 … base−1) and a journal holding
 * `after` more (appended one at a time, so one frame each), which LMDB never took.
 */
async function crashImage(
  name: string,
  base: number,
  after: number,
  o: { journalBytes?: number; salt?: string } = {},
): Promise<string> {
  const live = join(t.dir, `${name}-live`);
  const image = join(t.dir, name);
  mkdirSync(image);
  const log = await MerkleLog.open(live, {
    ...HOLD,
    ...(o.journalBytes ? { journalBytes: o.journalBytes } : {}),
  });
  try {
    for (let i = 0; i < base; i++) await log.appendDecision(record(i, { id: `${o.salt ?? ''}dec-${i}` }));
    await log.settled();
    copyFileSync(join(live, 'ledger.mdb'), join(image, 'ledger.mdb'));
    for (let i = base; i < base + after; i++) {
      const { index } = await log.appendDecision(record(i, { id: `${o.salt ?? ''}dec-${i}` }));
      expect(index).toBe(i);
    }
    expect(log.size).toBe(base); // resolved from the journal alone
    copyFileSync(join(live, JOURNAL_FILE), join(image, JOURNAL_FILE));
  } finally {
    await log.close();
  }
  return image;
}

/** Asserts `dir`'s log holds exactly decisions 0 … n−1 and verifies, from a writable open. */
async function expectDecisions(
  dir: string,
  n: number,
  durability: 'journal' | 'sync' = 'journal',
): Promise<void> {
  const log = await MerkleLog.open(dir, { durability });
  try {
    expect(log.size).toBe(n);
    for (let i = 0; i < n; i++) expect(log.decision(i).id).toBe(`dec-${i}`);
    expect(verifyLog(log).problems).toEqual([]);
    const entries = Array.from({ length: n }, (_, i) => log.entry(i));
    expect(Buffer.from(log.root()).equals(Buffer.from(rootOf(entries)))).toBe(true);
    // Postings of replayed entries are re-derived: an indexed query finds them.
    const want = Array.from({ length: n }, (_, i) => i).filter((i) => i % 5 === 2);
    expect(log.query({ task: 'task-2', limit: 1000 }).map((h) => h.index)).toEqual(want);
  } finally {
    await log.close();
  }
}

describe('journal frames', () => {
  it('a frame encoded into a used buffer is byte for byte the one encoded fresh, and decodes', () => {
    const h = { epoch: 7, salt: randomBytes(32) };
    const prev = randomBytes(32);
    const values = [Buffer.from('{"a":1}'), randomBytes(900), Buffer.alloc(0), randomBytes(5000)];
    const fresh = encodeFrame(h, 2 ** 32 + 5, prev, values);
    expect(fresh.length % BLOCK).toBe(0);
    // Bigger than the frame and full of an earlier frame's bytes: the padding must still be zeros.
    const used = Buffer.alloc(4 * BLOCK, 0xab);
    const reused = encodeFrame(h, 2 ** 32 + 5, prev, values, used);
    expect(reused.equals(fresh)).toBe(true);
    expect(reused.buffer).toBe(used.buffer);
    const f = decodeFrame(reused, 0, h);
    expect(f?.first).toBe(2 ** 32 + 5);
    expect(f?.prevLeaf.equals(prev)).toBe(true);
    expect(f?.entries.map((e) => e.toString('hex'))).toEqual(values.map((v) => v.toString('hex')));
    // Too small to hold it: a buffer of its own, the same bytes.
    expect(encodeFrame(h, 2 ** 32 + 5, prev, values, Buffer.alloc(BLOCK)).equals(fresh)).toBe(true);
    // The digest covers the salt: another header's salt does not decode it.
    expect(decodeFrame(reused, 0, { epoch: 7, salt: randomBytes(32) })).toBeUndefined();
  });
});

describe('journal durability', () => {
  it('resolves from the journal before LMDB commits; a crash image replays every resolved append', async () => {
    const image = await crashImage('img', 5, 20);
    expect(readJournal(join(image, JOURNAL_FILE))?.frames.length).toBe(25);
    await expectDecisions(image, 25);
    // The open started a new epoch: the old frames are no longer live, and a second open replays nothing.
    expect(readJournal(join(image, JOURNAL_FILE))?.frames).toEqual([]);
    await expectDecisions(image, 25);
  });

  it('a checkpoint made right after appends resolved from the journal covers them', async () => {
    const log = await MerkleLog.open(t.dir, HOLD);
    try {
      for (let i = 0; i < 3; i++) await log.appendDecision(record(i));
      expect(log.size).toBe(0);
      expect((await log.checkpoints.make()).size).toBe(3);
    } finally {
      await log.close();
    }
  });

  it('a log that left journal durability still replays, then removes the journal', async () => {
    const image = await crashImage('img', 3, 7);
    await expectDecisions(image, 10, 'sync');
    expect(existsSync(join(image, JOURNAL_FILE))).toBe(false);
  });

  it('a read-only open does not replay; the next writable open does', async () => {
    const image = await crashImage('img', 4, 6);
    const ro = await MerkleLog.open(image, { readOnly: true });
    expect(ro.size).toBe(4);
    await ro.close();
    await expectDecisions(image, 10);
  });

  it('a torn last frame was never acknowledged: the frames before it replay', async () => {
    const image = await crashImage('img', 2, 6);
    const path = join(image, JOURNAL_FILE);
    const frames = readJournal(path)?.frames ?? [];
    const last = frames.reduce((a, b) => (b.first > a.first ? b : a));
    expect(last.first).toBe(7);
    const bytes = readFileSync(path);
    bytes[last.at + 100] = (bytes[last.at + 100] as number) ^ 0xff; // inside its first entry
    writeFileSync(path, bytes);
    await expectDecisions(image, 7);
  });

  it('refuses a journal with a missing frame, and changes neither file', async () => {
    const image = await crashImage('img', 2, 6);
    const path = join(image, JOURNAL_FILE);
    const middle = readJournal(path)?.frames.find((f) => f.first === 4);
    expect(middle).toBeDefined();
    const bytes = readFileSync(path);
    bytes.fill(0, middle?.at, (middle?.at ?? 0) + BLOCK);
    writeFileSync(path, bytes);
    const before = files(image);
    expect(await code(MerkleLog.open(image, { durability: 'journal' }))).toBe('LEDGER_CORRUPT');
    expect(await code(MerkleLog.open(image, { durability: 'sync' }))).toBe('LEDGER_CORRUPT');
    expect(files(image)).toEqual(before);
  });

  it("refuses another log's journal (the leaf-hash chain does not follow), and changes neither file", async () => {
    // A 3-frame ring: frames 3–5 overwrote 0–2, so only the chain tells the logs apart.
    const journalBytes = RING_START + 3 * BLOCK;
    const mine = await crashImage('mine', 3, 3, { journalBytes });
    const theirs = await crashImage('theirs', 3, 3, { journalBytes, salt: 'x-' });
    expect(readJournal(join(theirs, JOURNAL_FILE))?.frames.map((f) => f.first)).toEqual([3, 4, 5]);
    copyFileSync(join(theirs, JOURNAL_FILE), join(mine, JOURNAL_FILE));
    const before = files(mine);
    expect(await code(MerkleLog.open(mine, { durability: 'journal' }))).toBe('LEDGER_CORRUPT');
    expect(files(mine)).toEqual(before);
  });

  it.each([
    ['random bytes', () => randomBytes(64 * 1024)],
    ['shorter than its headers', () => Buffer.alloc(100)],
    ['zeros', () => Buffer.alloc(64 * 1024)],
  ])('refuses a journal file of %s, and changes neither file', async (_name, content) => {
    const image = await crashImage('img', 3, 0);
    writeFileSync(join(image, JOURNAL_FILE), content());
    const before = files(image);
    expect(await code(MerkleLog.open(image, { durability: 'journal' }))).toBe('LEDGER_CORRUPT');
    expect(await code(MerkleLog.open(image, { durability: 'sync' }))).toBe('LEDGER_CORRUPT');
    expect(files(image)).toEqual(before);
  });

  it('refuses a journal whose live frames start past the log (entries in between are missing)', async () => {
    // A 2-frame ring: entries 0–1 are overwritten by 2–3 once LMDB held them; the image's LMDB has none.
    const live = join(t.dir, 'live');
    const image = join(t.dir, 'img');
    mkdirSync(image);
    const log = await MerkleLog.open(live, { ...HOLD, journalBytes: RING_START + 2 * BLOCK });
    copyFileSync(join(live, 'ledger.mdb'), join(image, 'ledger.mdb'));
    for (let i = 0; i < 2; i++) await log.append(bytesOf(`e${i}`));
    await log.settled();
    for (let i = 2; i < 4; i++) await log.append(bytesOf(`e${i}`));
    copyFileSync(join(live, JOURNAL_FILE), join(image, JOURNAL_FILE));
    await log.close();
    expect(readJournal(join(image, JOURNAL_FILE))?.frames.map((f) => f.first)).toEqual([2, 3]);
    expect(await code(MerkleLog.open(image, { durability: 'journal' }))).toBe('LEDGER_CORRUPT');
  });

  it('reuses the ring once LMDB holds its entries, and replays across the wrap', async () => {
    const live = join(t.dir, 'live');
    const image = join(t.dir, 'img');
    mkdirSync(image);
    const log = await MerkleLog.open(live, { ...HOLD, journalBytes: RING_START + 4 * BLOCK });
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 2; i++) await log.appendDecision(record(round * 2 + i));
      await log.settled();
    }
    copyFileSync(join(live, 'ledger.mdb'), join(image, 'ledger.mdb'));
    for (let i = 4; i < 7; i++) await log.appendDecision(record(i));
    expect(log.size).toBe(4);
    copyFileSync(join(live, JOURNAL_FILE), join(image, JOURNAL_FILE));
    await log.close();
    // Frames 4–6 went to the ring's first three blocks, over 0–2.
    const frames = readJournal(join(image, JOURNAL_FILE))?.frames ?? [];
    expect(frames.map((f) => [f.first, f.at])).toEqual([
      [4, RING_START],
      [5, RING_START + BLOCK],
      [6, RING_START + 2 * BLOCK],
      [3, RING_START + 3 * BLOCK],
    ]);
    await expectDecisions(image, 7);
  });

  it('LMDB trails the journal by commitDelayMs; a delay outside 0–600000 ms is LEDGER_BAD_ARGUMENT', async () => {
    for (const bad of [-1, 1.5, 600_001, Number.NaN])
      expect(await code(MerkleLog.open(t.dir, { durability: 'journal', commitDelayMs: bad }))).toBe(
        'LEDGER_BAD_ARGUMENT',
      );
    const log = await MerkleLog.open(t.dir, { durability: 'journal', commitDelayMs: 120 });
    try {
      const t0 = performance.now();
      await log.append(bytesOf('e0'));
      expect(log.size).toBe(0); // answered from the journal
      // The batch opened with the append and goes to LMDB on its own no sooner than the delay.
      while (log.size === 0 && performance.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 5));
      expect(log.size).toBe(1);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(115);
    } finally {
      await log.close();
    }
  });

  it('when the ring is full an append waits for LMDB, not for the journal', async () => {
    const log = await MerkleLog.open(t.dir, {
      durability: 'journal',
      commitDelayMs: 150,
      journalBytes: RING_START + 3 * BLOCK,
    });
    try {
      const sizeAtResolve: number[] = [];
      for (let i = 0; i < 5; i++) {
        await log.append(bytesOf(`e${i}`));
        sizeAtResolve.push(log.size);
      }
      // Three frames fit: those resolve from the journal, before LMDB holds anything. The fourth found no
      // room and resolved with the commit that holds it.
      expect(sizeAtResolve.slice(0, 3)).toEqual([0, 0, 0]);
      expect(sizeAtResolve[3]).toBeGreaterThanOrEqual(4);
    } finally {
      await log.close();
    }
  });

  it('a failed journal write is reported once; appends then resolve at LMDB durability, nothing is lost', async () => {
    const errors: Error[] = [];
    const log = await MerkleLog.open(t.dir, {
      durability: 'journal',
      commitDelayMs: 50,
      onJournalError: (e) => errors.push(e),
    });
    await log.append(bytesOf('e0'));
    expect(log.size).toBe(0); // from the journal
    // The writer's file descriptor is swapped for one that is not open: its next write fails (EBADF).
    const journal = (log as unknown as { commit: { journal: { fd: number } } }).commit.journal;
    const fd = journal.fd;
    journal.fd = 2 ** 30;
    const sizes: number[] = [];
    for (let i = 1; i < 4; i++) {
      await log.append(bytesOf(`e${i}`));
      sizes.push(log.size);
    }
    expect(errors.map((e) => (e as NodeJS.ErrnoException).code)).toEqual(['EBADF']);
    // The append whose frame failed, and every later one, resolved with the commit that holds it.
    for (let i = 0; i < 3; i++) expect(sizes[i]).toBeGreaterThanOrEqual(i + 2);
    await log.close();
    closeSync(fd);
    const again = await MerkleLog.open(t.dir);
    expect(again.size).toBe(4);
    await again.close();
  });

  it('a failed LMDB commit closes the log; reopening refuses, since the journal holds the lost entry', async () => {
    const log = await MerkleLog.open(t.dir, { ...HOLD });
    for (let i = 0; i < 3; i++) await log.append(bytesOf(`e${i}`));
    await log.settled();
    const ours = await log.append(bytesOf('ours')); // resolved: in the journal
    expect(ours).toBe(3);
    // Another writer takes index 3 before our batch commits (the writer lock normally prevents this).
    const { env, entries, meta } = log.lmdb;
    env.transactionSync(() => {
      entries.putSync(3, Buffer.from(bytesOf('theirs')));
      meta.putSync('size', 4, 4);
    });
    await log.settled();
    expect(await code(log.append(bytesOf('next')))).toBe('LEDGER_CLOSED');
    await log.close();
    expect(await code(MerkleLog.open(t.dir, { durability: 'journal' }))).toBe('LEDGER_CORRUPT');
  });
});
