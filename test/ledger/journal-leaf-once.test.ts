/**
 * With `durability: journal` an entry's bytes are hashed once: the journal computes the RFC 6962 leaf hash
 * for its frame chain, and the LMDB commit of the same bytes takes it (lib/journal.ts, lib/group-commit.ts).
 * Counted through the one leaf-hash function both use; the log must still verify against an independent root.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MerkleLog, rootOf } from '../../src/ledger/index.js';
import { nodeHashLeaf } from '../../src/ledger/lib/node-hash.js';
import { verifyLog } from '../../src/ledger/verify-log.js';
import { record, tempDir } from './helpers.js';

vi.mock('../../src/ledger/lib/node-hash.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/ledger/lib/node-hash.js')>();
  return { ...real, nodeHashLeaf: vi.fn(real.nodeHashLeaf) };
});

let t: { dir: string; cleanup: () => void };
beforeEach(() => {
  t = tempDir();
});
afterEach(() => t.cleanup());

describe('journal leaf hashes', () => {
  it('hashes each journaled entry once, and the log it commits verifies', async () => {
    // On this thread (no tree hasher), where a second hash of the same bytes would be counted.
    const log = await MerkleLog.open(t.dir, { durability: 'journal', hashThread: false });
    try {
      const hashLeaf = vi.mocked(nodeHashLeaf);
      hashLeaf.mockClear();
      const n = 40;
      const results = await Promise.all(Array.from({ length: n }, (_, i) => log.appendDecision(record(i))));
      await log.settled();
      expect(hashLeaf).toHaveBeenCalledTimes(n);
      expect(log.size).toBe(n);
      const entries = Array.from({ length: n }, (_, i) => log.entry(i));
      // Every receipt's leaf hash is the leaf hash of what LMDB holds, and the tree is built from those.
      for (const r of results)
        expect(Buffer.from(r.leafHash).equals(Buffer.from(nodeHashLeaf(entries[r.index]!)))).toBe(true);
      expect(Buffer.from(log.root()).equals(Buffer.from(rootOf(entries)))).toBe(true);
      expect(verifyLog(log).problems).toEqual([]);
    } finally {
      await log.close();
    }
  });
});
