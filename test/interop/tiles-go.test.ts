/**
 * Interop (docs/ledger.md §10): the archive SIGIL exports is read by an independent implementation, Go's
 * golang.org/x/mod/sumdb/tlog + sumdb/note (test/interop/go, built into .tools/bin/tlog-tiles-check by
 * scripts/setup-tools.sh). It verifies the checkpoint signature with SIGIL's verifier key, recomputes the
 * root from the hash tiles and checks every archived entry (a full record proof for one per bundle); a tampered tile or bundle must fail it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b64encode, MerkleLog } from '../../src/ledger/index.js';
import { record, tempDir } from '../ledger/helpers.js';

const CHECKER = join(process.cwd(), '.tools/bin/tlog-tiles-check');
let t: { dir: string; cleanup: () => void };
let archive: string;
let vkey: string;
let root: string;

/** The spec's example size: full and partial tiles at levels 0 and 1, a partial tile at level 2. */
const SIZE = 70_000;

beforeAll(async () => {
  if (!existsSync(CHECKER)) throw new Error(`${CHECKER} not found: run scripts/setup-tools.sh`);
  t = tempDir();
  archive = join(t.dir, 'archive');
  const log = await MerkleLog.open(join(t.dir, 'ledger'), { archiveDir: archive, retentionMs: 86_400_000 });
  for (let at = 0; at < SIZE; at += 5000) {
    await Promise.all(Array.from({ length: 5000 }, (_, i) => log.appendDecision(record(at + i))));
  }
  // helpers.record times are in January 2026; "now" is ten days after the last.
  const r = await log.compact({ now: record(SIZE).ts + 10 * 86_400_000 });
  expect(r).toMatchObject({ pruned: 69_888, checkpoint: SIZE });
  vkey = log.checkpoints.verifierKey;
  root = b64encode(log.root());
  await log.close();
}, 120_000);
afterAll(() => t?.cleanup());

function check(key = vkey): { status: number | null; out: string; err: string } {
  const r = spawnSync(CHECKER, [archive, key], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

/** Runs the checker with byte `at` of archive file `path` flipped, then restores the file. */
function tampered(path: string, at: number): { status: number | null; err: string } {
  const file = join(archive, path);
  const good = readFileSync(file);
  const bad = Buffer.from(good);
  bad[at] = (bad[at] as number) ^ 0x01;
  writeFileSync(file, bad);
  try {
    return check();
  } finally {
    writeFileSync(file, good);
  }
}

describe('tlog-tiles interop with golang.org/x/mod/sumdb/tlog', () => {
  it('verifies the checkpoint, recomputes the root from the tiles and checks every archived entry', () => {
    for (const p of ['tile/0/272', 'tile/0/273.p/112', 'tile/1/000', 'tile/1/001.p/17', 'tile/2/000.p/1']) {
      expect(existsSync(join(archive, p)), p).toBe(true);
    }
    const r = check();
    expect(r.err).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.out)).toEqual({
      origin: 'sigil.mesh/sigil/audit',
      size: SIZE,
      root,
      checked: 69_888,
      proofs: 273,
    });
  });

  it('fails on a tampered hash tile at any level, a tampered entry bundle, and a wrong key', () => {
    for (const [path, at] of [
      ['tile/0/000', 5],
      ['tile/0/273.p/112', 3000],
      ['tile/1/000', 8191],
      ['tile/1/001.p/17', 0],
      ['tile/2/000.p/1', 31],
    ] as const) {
      const r = tampered(path, at);
      expect(r.status, path).toBe(1);
      expect(r.err, path).toMatch(/tlog-tiles-check: /);
    }
    const bundle = tampered('tile/entries/100', 100);
    expect(bundle.status).toBe(1);
    expect(bundle.err).toMatch(/entry 256\d\d does not match its leaf hash/);
    const note = tampered('checkpoint', 30);
    expect(note.status).toBe(1);
    expect(note.err).toMatch(/checkpoint/);
    // Another key (here: the same name with another public key) does not verify the checkpoint.
    const other = vkey.replace(/[A-Za-z0-9+/]{8}=?$/, (m) => (m.startsWith('A') ? 'B' : 'A') + m.slice(1));
    expect(other).not.toBe(vkey);
    const wrong = check(other);
    expect(wrong.status).toBe(1);
    expect(wrong.err).toMatch(/verifier key|checkpoint signature/);
    // The untampered archive still passes (each tamper was undone).
    expect(check().status).toBe(0);
  });
});
