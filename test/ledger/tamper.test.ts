/**
 * Tamper and corruption tests: edit the LMDB records directly (raw lmdb, as an attacker with file access
 * would) and check that verify reports the first bad index; garbage/truncated files give a LedgerError
 * code without crashing and without touching the file.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Database, open } from 'lmdb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatCheckpoint, LedgerError, MerkleLog, noteSigner, signNote } from '../../src/ledger/index.js';
import { nodeHashLeaf } from '../../src/ledger/lib/node-hash.js';
import { verifyLog } from '../../src/ledger/verify-log.js';
import { generateEd25519 } from '../../src/lib/ed25519-key.js';
import { runCliSync } from '../support/sigil-cli.js';
import { bytesOf, flip, record, tempDir } from './helpers.js';

let t: { dir: string; cleanup: () => void };
beforeEach(() => {
  t = tempDir();
});
afterEach(() => t.cleanup());

const N = 50;

async function build(dir: string, checkpointAt: number[] = [N]): Promise<void> {
  const log = await MerkleLog.open(dir);
  for (let i = 0; i < N; i++) {
    await log.append(bytesOf(`entry-${i}`));
    if (checkpointAt.includes(i + 1)) await log.checkpoints.make();
  }
  await log.close();
}

/** Format-4 keys written by hand (docs/ledger.md §2), not with SIGIL's codec: 8 bytes big-endian. */
const be64 = (n: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};
/** Node row key: the level byte, then the row (⌊index / 32⌋) as 8 bytes big-endian. */
const rowKey = (level: number, row: number): Buffer => Buffer.concat([Buffer.from([level]), be64(row)]);

/** A raw database by number (entries) or [level, row] (nodes) key, through the hand-made keys. */
interface Raw<K> {
  getBinary(k: K): Buffer | undefined;
  putSync(k: K, v: Buffer): void;
  removeSync(k: K): void;
}
function byKey<K>(db: Database<Buffer, Buffer>, key: (k: K) => Buffer): Raw<K> {
  return {
    getBinary: (k) => db.getBinary(key(k)),
    putSync: (k, v) => void db.putSync(key(k), v),
    removeSync: (k) => void db.removeSync(key(k)),
  };
}

/** Opens the ledger file raw (no SIGIL code) and runs `edit` in one write transaction. */
async function raw(
  dir: string,
  edit: (dbs: {
    entries: Raw<number>;
    nodes: Raw<[number, number]>;
    meta: Database;
    cps: Database<string, number>;
    idx: Database<Buffer, Array<string | number>>;
  }) => void,
): Promise<void> {
  const env = open({ path: join(dir, 'ledger.mdb'), maxDbs: 8 });
  const dbs = {
    entries: byKey(
      env.openDB<Buffer, Buffer>('entries64', { keyEncoding: 'binary', encoding: 'binary' }),
      be64,
    ),
    nodes: byKey(
      env.openDB<Buffer, Buffer>('nodes64', { keyEncoding: 'binary', encoding: 'binary' }),
      ([l, r]: [number, number]) => rowKey(l, r),
    ),
    meta: env.openDB('meta', { useVersions: true }),
    cps: env.openDB<string, number>('checkpoints', { encoding: 'string' }),
    idx: env.openDB<Buffer, Array<string | number>>('idx64', { encoding: 'binary' }),
  };
  env.transactionSync(() => edit(dbs));
  await env.close();
}

/**
 * Overwrites the stored hash of node (level, index) in place, following docs/ledger.md §2 by hand
 * (rows of 32 hashes under key [level, ⌊index/32⌋]), so the test does not trust SIGIL's own code.
 */
function editNode(nodes: Raw<[number, number]>, level: number, index: number, hash: Buffer): void {
  const key: [number, number] = [level, Math.floor(index / 32)];
  const row = Buffer.from(nodes.getBinary(key) as Buffer);
  hash.copy(row, (index % 32) * 32);
  nodes.putSync(key, row);
}

async function report(dir: string) {
  const log = await MerkleLog.open(dir, { forVerify: true });
  try {
    return verifyLog(log);
  } finally {
    await log.close();
  }
}

describe('audit verify detects tampering', () => {
  it('an untouched log verifies, with its checkpoints', async () => {
    await build(t.dir, [10, 33, N]);
    const r = await report(t.dir);
    expect(r).toMatchObject({ ok: true, size: N, entries: N, checkpoints: 3, problems: [] });
  });

  it('modified entry bytes (leaf hash left alone) → that index', async () => {
    await build(t.dir);
    await raw(t.dir, ({ entries }) => {
      const v = Buffer.from(entries.getBinary(37) as Buffer);
      flip(v, v.length - 1);
      entries.putSync(37, v);
    });
    const r = await report(t.dir);
    expect(r.ok).toBe(false);
    expect(r.firstBadIndex).toBe(37);
    expect(r.problems[0]?.kind).toBe('entry');
  });

  it('modified entry with a recomputed leaf hash → the smallest disagreeing subtree, and the checkpoint', async () => {
    await build(t.dir);
    await raw(t.dir, ({ entries, nodes }) => {
      entries.putSync(36, Buffer.from('forged'));
      editNode(nodes, 0, 36, nodeHashLeaf(bytesOf('forged')));
    });
    const r = await report(t.dir);
    expect(r.ok).toBe(false);
    expect(r.firstBadIndex).toBe(36);
    expect(r.problems.map((p) => p.kind)).toContain('node');
    expect(r.problems.map((p) => p.kind)).toContain('checkpoint');
  });

  it('a deleted entry → its index', async () => {
    await build(t.dir);
    await raw(t.dir, ({ entries }) => entries.removeSync(20));
    const r = await report(t.dir);
    expect(r.firstBadIndex).toBe(20);
    expect(r.problems[0]?.kind).toBe('missing');
  });

  it('two entries swapped → the first of them', async () => {
    await build(t.dir);
    await raw(t.dir, ({ entries }) => {
      const a = Buffer.from(entries.getBinary(10) as Buffer);
      const b = Buffer.from(entries.getBinary(11) as Buffer);
      entries.putSync(10, b);
      entries.putSync(11, a);
    });
    const r = await report(t.dir);
    expect(r.ok).toBe(false);
    expect(r.firstBadIndex).toBe(10);
  });

  it('truncated tail (entries removed, size rewritten) → first missing index via the checkpoint', async () => {
    await build(t.dir);
    await raw(t.dir, ({ entries, meta }) => {
      for (let i = 45; i < N; i++) entries.removeSync(i);
      meta.putSync('size', 45, 45);
    });
    const r = await report(t.dir);
    expect(r.ok).toBe(false);
    expect(r.firstBadIndex).toBe(45);
  });

  it('truncated tail (size left alone) → first missing index', async () => {
    await build(t.dir);
    await raw(t.dir, ({ entries }) => {
      for (let i = 45; i < N; i++) entries.removeSync(i);
    });
    const r = await report(t.dir);
    expect(r.firstBadIndex).toBe(45);
  });

  it('an appended foreign entry beyond the size → reported', async () => {
    await build(t.dir);
    await raw(t.dir, ({ entries }) => entries.putSync(N, Buffer.from('extra')));
    const r = await report(t.dir);
    expect(r.ok).toBe(false);
    expect(r.firstBadIndex).toBe(N);
  });

  it('a changed interior node → the first leaf it covers', async () => {
    await build(t.dir);
    await raw(t.dir, ({ nodes }) => editNode(nodes, 3, 2, Buffer.alloc(32, 9)));
    const r = await report(t.dir);
    expect(r.ok).toBe(false);
    expect(r.firstBadIndex).toBe(16);
    expect(r.problems[0]?.kind).toBe('node');
  });

  it('a forged checkpoint (signature by another key, or a flipped signature byte) → reported', async () => {
    await build(t.dir, [20, N]);
    const other = noteSigner('sigil.mesh/sigil/audit', generateEd25519().privateKey);
    await raw(t.dir, ({ cps }) => {
      cps.putSync(20, signNote(formatCheckpoint('sigil.mesh/sigil/audit', 20, new Uint8Array(32)), other));
      const good = cps.get(N) as string;
      cps.putSync(
        N,
        good.replace(/ (.)(\S+)\n$/, (_m, c: string, rest: string) => ` ${c === 'A' ? 'B' : 'A'}${rest}\n`),
      );
    });
    const r = await report(t.dir);
    expect(r.ok).toBe(false);
    expect(r.problems.filter((p) => p.kind === 'checkpoint')).toHaveLength(2);
    expect(r.firstBadIndex).toBe(19);
  });

  it('`sigil audit verify` prints the report and exits non-zero on tampering', async () => {
    const data = join(t.dir, 'data');
    await build(join(data, 'ledger'));
    const cli = (args: string[]) => runCliSync(['--data', data, 'audit', ...args]);
    const okRun = cli(['verify']);
    expect(okRun.code).toBe(0);
    expect(JSON.parse(okRun.stdout)).toMatchObject({ ok: true, size: N });
    await raw(join(data, 'ledger'), ({ entries }) => {
      const v = Buffer.from(entries.getBinary(12) as Buffer);
      flip(v, 3, 0x20);
      entries.putSync(12, v);
    });
    const bad = cli(['verify']);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ ok: false, firstBadIndex: 12 });
    expect(bad.stderr).toMatch(/^LEDGER_CORRUPT: .*index 12/m);
  });
});

describe('corrupt files at the ledger path', () => {
  const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

  async function openCode(dir: string): Promise<string | undefined> {
    try {
      const log = await MerkleLog.open(dir);
      await log.close();
    } catch (e) {
      expect(e).toBeInstanceOf(LedgerError);
      return (e as LedgerError).code;
    }
    return undefined;
  }

  it.each([
    ['garbage bytes', (f: string) => writeFileSync(f, Buffer.alloc(64 * 1024, 0x5a))],
    [
      'random bytes',
      (f: string) => writeFileSync(f, createHash('sha512').update('x').digest().toString('hex').repeat(500)),
    ],
    ['an empty file', (f: string) => writeFileSync(f, '')],
    ['a 100-byte file', (f: string) => writeFileSync(f, Buffer.alloc(100))],
  ])('%s → LEDGER_CORRUPT and the file is untouched', async (_name, make) => {
    const f = join(t.dir, 'ledger.mdb');
    make(f);
    const before = sha(f);
    expect(await openCode(t.dir)).toBe('LEDGER_CORRUPT');
    expect(sha(f)).toBe(before);
  });

  it('a truncated real ledger → LEDGER_CORRUPT, file untouched, and the intact copy still opens', async () => {
    const src = join(t.dir, 'src');
    await build(src);
    const dst = join(t.dir, 'dst');
    mkdirSync(dst);
    copyFileSync(join(src, 'ledger.mdb'), join(dst, 'ledger.mdb'));
    truncateSync(join(dst, 'ledger.mdb'), Math.floor(statSync(join(src, 'ledger.mdb')).size / 2));
    const before = sha(join(dst, 'ledger.mdb'));
    expect(await openCode(dst)).toBe('LEDGER_CORRUPT');
    expect(sha(join(dst, 'ledger.mdb'))).toBe(before);
    const log = await MerkleLog.open(src);
    expect(log.size).toBe(N);
    await log.close();
  });

  it('a directory where the file should be → LEDGER_IO', async () => {
    mkdirSync(join(t.dir, 'ledger.mdb'));
    expect(await openCode(t.dir)).toBe('LEDGER_IO');
  });

  it('an LMDB file of another schema → LEDGER_SCHEMA; lost format record with entries → LEDGER_CORRUPT', async () => {
    await build(t.dir);
    await raw(t.dir, ({ meta }) => meta.putSync('format', { name: 'sigil-ledger', version: 99 }));
    expect(await openCode(t.dir)).toBe('LEDGER_SCHEMA');
    // Versions 1 (one node record per hash, one index key per record) and 2 (leaf hash inside the
    // entry value) are different layouts: refused.
    for (const version of [1, 2]) {
      await raw(t.dir, ({ meta }) => meta.putSync('format', { name: 'sigil-ledger', version }));
      expect(await openCode(t.dir)).toBe('LEDGER_SCHEMA');
    }
    await raw(t.dir, ({ meta }) => meta.putSync('format', { name: 'something-else', version: 1 }));
    expect(await openCode(t.dir)).toBe('LEDGER_SCHEMA');
    await raw(t.dir, ({ meta }) => meta.removeSync('format'));
    expect(await openCode(t.dir)).toBe('LEDGER_CORRUPT');
  });

  it('a damaged index posting fails the query with LEDGER_CORRUPT instead of silently dropping records', async () => {
    let log = await MerkleLog.open(t.dir);
    await Promise.all([0, 1, 2, 3].map((i) => log.appendDecision(record(i, { task_id: 'task-p' }))));
    await log.close();
    await raw(t.dir, ({ idx }) => {
      const keys = [...idx.getKeys({ start: ['k', 'task-p'], end: ['k', 'task-p', 2 ** 33] })];
      expect(keys).toHaveLength(1); // one posting for the whole commit
      idx.putSync(keys[0] as Array<string | number>, Buffer.from([1, 2, 3]));
    });
    log = await MerkleLog.open(t.dir, { readOnly: true });
    try {
      expect(() => log.query({ task: 'task-p' })).toThrow(
        expect.objectContaining({ code: 'LEDGER_CORRUPT' }),
      );
      expect(log.query({ decision: 'allow' }).length).toBeGreaterThan(0); // other indexes still answer
    } finally {
      await log.close();
    }
  });

  it('an index watermark that is not an integer in [0, size] → LEDGER_CORRUPT; verify still reads the log', async () => {
    await build(t.dir);
    expect(await openCode(t.dir)).toBeUndefined();
    for (const bad of ['x', -1, N + 1, 1.5]) {
      await raw(t.dir, ({ meta }) => meta.putSync('indexed', bad));
      expect(await openCode(t.dir)).toBe('LEDGER_CORRUPT');
    }
    expect((await report(t.dir)).ok).toBe(true); // indexes are not part of the verified tree
    await raw(t.dir, ({ meta }) => meta.putSync('indexed', N));
    expect(await openCode(t.dir)).toBeUndefined();
  });

  it('a tree watermark that is not an integer in [0, size] or disagrees with the rows → LEDGER_CORRUPT; past it nodes may be absent', async () => {
    await build(t.dir);
    for (const bad of ['x', -1, N + 1, 1.5]) {
      await raw(t.dir, ({ meta }) => meta.putSync('tree', bad));
      expect(await openCode(t.dir)).toBe('LEDGER_CORRUPT');
      expect((await report(t.dir)).problems.map((p) => p.kind)).toContain('size');
    }
    // Rows longer than the watermark implies: open refuses (a partial row must hold exactly the hashes of
    // the watermark's tree); every hash itself is still right, so verify passes.
    await raw(t.dir, ({ meta }) => meta.putSync('tree', 7));
    expect(await openCode(t.dir)).toBe('LEDGER_CORRUPT');
    expect((await report(t.dir)).ok).toBe(true);
    // Below the watermark a missing node row is damage, above it an expected gap.
    await raw(t.dir, ({ meta, nodes }) => {
      meta.putSync('tree', N);
      nodes.removeSync([1, 0]); // level 1, row 0: nodes (1, 0..24)
    });
    const r = await report(t.dir);
    expect(r.problems[0]).toMatchObject({ kind: 'node', index: 0 });
    await raw(t.dir, ({ meta }) => meta.putSync('tree', 0));
    expect((await report(t.dir)).ok).toBe(true);
  });

  it('open-time checks catch a damaged newest entry or frontier node → LEDGER_CORRUPT', async () => {
    await build(t.dir);
    await raw(t.dir, ({ entries }) => {
      const v = Buffer.from(entries.getBinary(N - 1) as Buffer);
      flip(v, v.length - 1);
      entries.putSync(N - 1, v);
    });
    expect(await openCode(t.dir)).toBe('LEDGER_CORRUPT');
    const t2 = tempDir();
    try {
      await build(t2.dir);
      await raw(t2.dir, ({ nodes }) => editNode(nodes, 5, 0, Buffer.alloc(32)));
      expect(await openCode(t2.dir)).toBe('LEDGER_CORRUPT');

      await raw(t2.dir, ({ meta }) => meta.putSync('size', 7, 7));
      expect(await openCode(t2.dir)).toBe('LEDGER_CORRUPT');
    } finally {
      t2.cleanup();
    }
    const t3 = tempDir();
    try {
      await build(t3.dir);
      expect(await openCode(t3.dir)).toBeUndefined();
      // The partly filled row of level 1 (25 of 32 hashes at size 50) cut short by one hash.
      await raw(t3.dir, ({ nodes }) => {
        const row = nodes.getBinary([1, 0]) as Buffer;
        expect(row.length).toBe(25 * 32);
        nodes.putSync([1, 0], Buffer.from(row.subarray(0, 24 * 32)));
      });
      expect(await openCode(t3.dir)).toBe('LEDGER_CORRUPT');
    } finally {
      t3.cleanup();
    }
  });
});
