/**
 * Slow ledger tests (`npm run test:slow`): a 300k-entry LMDB log cross-checked against an independent
 * in-memory recomputation at random sizes, verify on the whole log, and hostile-size inputs to the parsers
 * (they must answer with a LedgerError quickly, never hang or crash).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LedgerError,
  MerkleLog,
  parseProofBundle,
  verifyConsistency,
  verifyInclusion,
  verifyNote,
} from '../../src/ledger/index.js';
import { verifyLog } from '../../src/ledger/verify-log.js';

const N = 300_000;
const dir = mkdtempSync(join(tmpdir(), 'sigil-ledger-slow-'));
let log: MerkleLog;
const leaves: Buffer[] = [];
const leaf = (d: Uint8Array) => createHash('sha256').update(Uint8Array.of(0)).update(d).digest();
const node = (l: Uint8Array, r: Uint8Array) =>
  createHash('sha256').update(Uint8Array.of(1)).update(l).update(r).digest();

/** Independent MTH over leaves[start, end) (recursive definition, memoised on aligned power-of-two ranges). */
const memo = new Map<string, Buffer>();
function mth(start: number, end: number): Buffer {
  const n = end - start;
  if (n === 1) return leaves[start] as Buffer;
  const key = `${start}:${end}`;
  const hit = memo.get(key);
  if (hit) return hit;
  let k = 1;
  while (k * 2 < n) k *= 2;
  const h = node(mth(start, start + k), mth(start + k, end));
  if ((n & (n - 1)) === 0) memo.set(key, h);
  return h;
}

beforeAll(async () => {
  log = await MerkleLog.open(dir, { durability: 'fast' });
  for (let done = 0; done < N; done += 10_000) {
    const batch: Promise<number>[] = [];
    for (let i = done; i < done + 10_000; i++) {
      const d = Buffer.from(`slow-entry-${i}`);
      leaves.push(leaf(d));
      batch.push(log.append(d));
    }
    await Promise.all(batch);
  }
}, 600_000);
afterAll(async () => {
  await log.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('300k-entry log', () => {
  it('roots, inclusion and consistency proofs at random sizes agree with an independent recomputation', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: N }), fc.nat(), fc.nat(), (n, a, b) => {
        const i = a % n;
        const m = 1 + (b % (n - 1));
        const root = log.root(n);
        expect(Buffer.from(root).equals(mth(0, n))).toBe(true);
        expect(verifyInclusion(leaves[i] as Buffer, i, n, log.inclusionProof(i, n), root)).toBe(true);
        expect(verifyConsistency(m, n, log.consistencyProof(m, n), log.root(m), root)).toBe(true);
      }),
      { numRuns: 150, seed: 9162 },
    );
  });
  it('verify recomputes every hash and finds nothing wrong', async () => {
    await log.checkpoints.make();
    const r = verifyLog(log);
    expect(r).toMatchObject({ ok: true, entries: N, checkpoints: 1 });
  });
});

describe('hostile sizes', () => {
  const code = (f: () => unknown): string | undefined => {
    try {
      f();
    } catch (e) {
      return e instanceof LedgerError ? e.code : 'OTHER';
    }
    return undefined;
  };
  it('a 50 MB note, a note with 100k signature lines and a 10 MB bundle are refused with their codes', () => {
    expect(
      code(() =>
        verifyNote(
          `${'a'.repeat(50 << 20)}\n\n— k x\n`,
          'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k',
        ),
      ),
    ).toBe('LEDGER_NOTE_MALFORMED');
    expect(
      code(() =>
        verifyNote(
          `m\n\n${'— x.example AAAAAAAA\n'.repeat(100_000)}`,
          'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k',
        ),
      ),
    ).toBe('LEDGER_NOTE_MALFORMED');
    expect(code(() => parseProofBundle(`c2sp.org/tlog-proof@v1\nindex 0\n${'A'.repeat(10 << 20)}\n`))).toBe(
      'LEDGER_BUNDLE_MALFORMED',
    );
  });
});
