/**
 * Indices beyond 2^32 (docs/ledger.md §2 "Keys", issue #20 "Scale") without writing 4 billion entries:
 * the key codecs and posting offsets property-tested across [0, 2^53 − 1] against an independent
 * encoder (BigInt), the real LMDB databases keyed near and beyond 2^32, the Merkle proof math on a
 * sparse tree of 2^53 − 1 leaves whose every subtree hash is computable in O(log n), and the C2SP tile
 * paths of huge indices.
 */

import { join } from 'node:path';
import fc from 'fast-check';
import { open } from 'lmdb';
import { afterAll, describe, expect, it } from 'vitest';
import { leafHash, verifyConsistency, verifyInclusion } from '../../src/ledger/browser.js';
import {
  indexKey,
  indexOfKey,
  MAX_ENTRIES,
  nodeRowKey,
  readNodeRowKey,
  readU64,
} from '../../src/ledger/lib/keys.js';
import { openLogDatabases } from '../../src/ledger/lib/log-store.js';
import { nodeHashNode } from '../../src/ledger/lib/node-hash.js';
import { readNodeHash } from '../../src/ledger/lib/node-rows.js';
import { relativePosting, splitPosting, unpackRelative } from '../../src/ledger/lib/posting-codec.js';
import { consistencyPath, foldFrontier, frontierOf, inclusionPath } from '../../src/ledger/lib/proof.js';
import { tilePath, tilesOf } from '../../src/ledger/lib/tiles.js';
import { tempDir } from './helpers.js';

const t = tempDir('sigil-ledger-keys-');
afterAll(() => t.cleanup());

/** The independent encoder: BigInt, 8 bytes big-endian. */
const be64 = (n: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};
const safe = fc.nat({ max: Number.MAX_SAFE_INTEGER });
/** Indices drawn near the interesting edges as well as anywhere. */
const index = fc.oneof(
  safe,
  fc.integer({ min: 2 ** 32 - 300, max: 2 ** 32 + 300 }),
  fc.integer({ min: Number.MAX_SAFE_INTEGER - 300, max: Number.MAX_SAFE_INTEGER }),
);

describe('key codecs over the safe range', () => {
  it('indexKey is 8 bytes big-endian, round-trips, and orders like the numbers (fast-check)', () => {
    fc.assert(
      fc.property(index, index, (a, b) => {
        expect(indexKey(a).equals(be64(a))).toBe(true);
        expect(indexOfKey(indexKey(a))).toBe(a);
        expect(Math.sign(Buffer.compare(indexKey(a), indexKey(b)))).toBe(Math.sign(a - b));
      }),
      { numRuns: 2000 },
    );
  });

  it('node row keys order by level, then row, up to 2^48 rows', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 52 }),
        fc.nat({ max: 2 ** 48 }),
        fc.nat({ max: 52 }),
        fc.nat({ max: 2 ** 48 }),
        (l1, r1, l2, r2) => {
          expect(readNodeRowKey(nodeRowKey(l1, r1))).toEqual([l1, r1]);
          const want = l1 !== l2 ? Math.sign(l1 - l2) : Math.sign(r1 - r2);
          expect(Math.sign(Buffer.compare(nodeRowKey(l1, r1), nodeRowKey(l2, r2)))).toBe(want);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('refuses what no key may hold, and reads damaged keys as -1', () => {
    for (const bad of [-1, 2 ** 53, 1.5, Number.NaN, Number.POSITIVE_INFINITY])
      expect(() => indexKey(bad)).toThrow(RangeError);
    expect(readU64(be64(2 ** 53 - 1), 0)).toBe(2 ** 53 - 1);
    expect(readU64(Buffer.from('0020000000000000', 'hex'), 0)).toBe(-1); // 2^53
    expect(readU64(Buffer.from('ffffffffffffffff', 'hex'), 0)).toBe(-1);
    expect(indexOfKey(Buffer.alloc(7))).toBe(-1);
    expect(MAX_ENTRIES).toBe(2 ** 53 - 1);
  });

  it('postings hold offsets from their first index anywhere in the range, split past 2^32 − 1 (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: Number.MAX_SAFE_INTEGER - 2 ** 34 }),
        fc.uniqueArray(fc.nat({ max: 2 ** 34 }), { minLength: 1, maxLength: 40 }),
        (first, offsets) => {
          const indices = [...new Set([0, ...offsets])].sort((a, b) => a - b).map((o) => first + o);
          const parts = splitPosting(indices);
          expect(parts.flat()).toEqual(indices);
          for (const p of parts) {
            expect((p.at(-1) as number) - (p[0] as number)).toBeLessThanOrEqual(2 ** 32 - 1);
            expect(unpackRelative(p[0] as number, relativePosting(p))).toEqual(p);
          }
        },
      ),
      { numRuns: 500 },
    );
    // A value whose first offset is not 0 disagrees with its key: damaged.
    expect(unpackRelative(2 ** 40, Buffer.from([1, 0, 0, 0]))).toBeUndefined();
  });
});

describe('LMDB keyed beyond 2^32', () => {
  it('entries and node rows near 2^32 and 2^53 sort, range and read back in index order', async () => {
    const env = open({ path: join(t.dir, 'big.mdb'), maxDbs: 8, noMemInit: true, separateFlushed: true });
    try {
      const { entries, nodes } = openLogDatabases(env, 4);
      const keys = [0, 1, 255, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 40, MAX_ENTRIES - 1];
      env.transactionSync(() => {
        for (const k of [...keys].reverse()) entries.putSync(k, Buffer.from(`e${k}`));
        // Synthetic node rows: level 0 row of leaf 2^40 + 5, level 20 row of node 2^32 + 3.
        const row = Buffer.alloc(32 * 32);
        row.fill(7, 5 * 32, 6 * 32);
        nodes.putSync([0, (2 ** 40 + 5 - 5) / 32], row);
        const high = Buffer.alloc(4 * 32);
        high.fill(9, 3 * 32, 4 * 32);
        nodes.putSync([20, 2 ** 32 / 32], high);
      });
      expect([...entries.getRange({})].map((e) => e.key)).toEqual(keys);
      expect([...entries.getRange({ start: 2 ** 32 - 1, end: 2 ** 40 })].map((e) => e.key)).toEqual([
        2 ** 32 - 1,
        2 ** 32,
        2 ** 32 + 1,
      ]);
      expect([...entries.getRange({ start: 2 ** 40, end: 0, reverse: true })].map((e) => e.key)).toEqual([
        2 ** 40,
        2 ** 32 + 1,
        2 ** 32,
        2 ** 32 - 1,
        255,
        1,
      ]);
      expect(entries.getBinary(2 ** 32)?.toString()).toBe(`e${2 ** 32}`);
      expect(entries.getBinary(2 ** 32 + 2)).toBeUndefined();
      expect(readNodeHash(nodes, 0, 2 ** 40 + 5)?.equals(Buffer.alloc(32, 7))).toBe(true);
      expect(readNodeHash(nodes, 0, 2 ** 40 + 4)?.equals(Buffer.alloc(32))).toBe(true);
      expect(readNodeHash(nodes, 20, 2 ** 32 + 3)?.equals(Buffer.alloc(32, 9))).toBe(true);
      // Format 3's key level·2^32 + row would have put (0, 2^32 + 3) and (1, 3) on one key; these differ.
      expect(readNodeHash(nodes, 1, 3 * 32 + 5)).toBeUndefined();
      // On disk: the hand-made encodings.
      const raw = env.openDB<Buffer, Buffer>('entries64', { keyEncoding: 'binary', encoding: 'binary' });
      expect(raw.getBinary(be64(2 ** 32))?.toString()).toBe(`e${2 ** 32}`);
      const rawNodes = env.openDB<Buffer, Buffer>('nodes64', { keyEncoding: 'binary', encoding: 'binary' });
      expect(rawNodes.getBinary(Buffer.concat([Buffer.from([20]), be64(2 ** 27)]))?.length).toBe(4 * 32);
    } finally {
      await env.close();
    }
  });
});

describe('Merkle proofs of a 2^53 − 1 leaf tree', () => {
  // Every leaf is `v` except leaf `s`: a perfect subtree's hash is H[level] unless it covers s, when it is
  // on s's path (computed up from s's leaf hash). So any subtree is O(log n) to compute, and s breaks the
  // symmetry: a proof that takes a wrong turn anywhere does not verify.
  const sparse = (s: number) => {
    const H: Uint8Array[] = [leafHash(new Uint8Array([1]))];
    for (let l = 1; l <= 53; l++) H.push(nodeHashNode(H[l - 1] as Uint8Array, H[l - 1] as Uint8Array));
    const S: Uint8Array[] = [leafHash(new Uint8Array([2]))];
    for (let l = 1; l <= 53; l++) {
      const below = S[l - 1] as Uint8Array;
      const odd = Math.floor(s / 2 ** (l - 1)) % 2 === 1;
      S.push(odd ? nodeHashNode(H[l - 1] as Uint8Array, below) : nodeHashNode(below, H[l - 1] as Uint8Array));
    }
    const read = (level: number, i: number): Uint8Array =>
      (i === Math.floor(s / 2 ** level) ? S[level] : H[level]) as Uint8Array;
    const root = (size: number) =>
      foldFrontier(
        frontierOf(size).map(([l, i]) => read(l, i)),
        nodeHashNode,
      );
    return { read, root, leaf: (i: number) => read(0, i) };
  };

  it('inclusion and consistency across 2^32 and up to 2^53 − 1 verify with the RFC 9162 verifiers', () => {
    const sizes = [2 ** 32 + 1, 2 ** 32 + 7, 2 ** 40 + 3, MAX_ENTRIES];
    for (const s of [2 ** 32 - 1, 2 ** 32, 2 ** 32 + 5, 2 ** 40 + 2, MAX_ENTRIES - 1]) {
      const tree = sparse(s);
      for (const size of sizes.filter((n) => n > s)) {
        const root = tree.root(size);
        for (const i of [s, s - 1, s + 1].filter((x) => x >= 0 && x < size)) {
          const proof = inclusionPath(i, size, tree.read, nodeHashNode);
          expect(verifyInclusion(tree.leaf(i), i, size, proof, root), `inclusion ${i} in ${size}`).toBe(true);
          // The same proof for the neighbour's leaf or index fails.
          const j = i === s ? s + 1 : s;
          if (j < size) expect(verifyInclusion(tree.leaf(j), i, size, proof, root)).toBe(false);
        }
        for (const m of [s, s + 1, 2 ** 32].filter((x) => x > 0 && x < size)) {
          const proof = consistencyPath(m, size, tree.read, nodeHashNode);
          expect(verifyConsistency(m, size, proof, tree.root(m), root), `consistency ${m} → ${size}`).toBe(
            true,
          );
          expect(verifyConsistency(m, size, proof, tree.root(m), sparse(s + 2).root(size))).toBe(false);
        }
      }
    }
  });

  it('frontierOf decomposes any safe size into ≤ 53 perfect subtrees covering exactly [0, size) (fast-check)', () => {
    fc.assert(
      fc.property(safe, (size) => {
        let at = 0;
        for (const [l, i] of frontierOf(size)) {
          expect(i * 2 ** l).toBe(at);
          at += 2 ** l;
        }
        expect(at).toBe(size);
      }),
    );
  });
});

describe('C2SP tlog-tiles paths of huge indices', () => {
  /** tlog-tiles "Merkle Tree": N as 3-digit groups, all but the last prefixed with x (independent: BigInt). */
  const expected = (n: number): string => {
    const digits = BigInt(n).toString();
    const groups: string[] = [];
    for (let end = digits.length; end > 0; end -= 3)
      groups.unshift(digits.slice(Math.max(0, end - 3), end).padStart(3, '0'));
    return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
  };

  it('encodes N beyond 2^32 (fast-check) and the spec example', () => {
    expect(tilePath(0, 1234067)).toBe('tile/0/x001/x234/067');
    expect(tilePath('entries', 2 ** 45 + 1)).toBe(`tile/entries/${expected(2 ** 45 + 1)}`);
    fc.assert(
      fc.property(fc.nat({ max: Math.floor(MAX_ENTRIES / 256) }), fc.nat({ max: 6 }), (n, level) => {
        expect(tilePath(level, n)).toBe(`tile/${level}/${expected(n)}`);
        expect(tilePath(level, n, 17)).toBe(`tile/${level}/${expected(n)}.p/17`);
      }),
    );
  });

  it('lists the tiles of a 2^53 − 1 entry tree: 7 tile levels, full and partial counts exact', () => {
    const tiles = tilesOf(MAX_ENTRIES);
    expect(tiles).toHaveLength(7);
    for (const { level, full, partial } of tiles) {
      const hashes = Math.floor(MAX_ENTRIES / 256 ** level);
      expect(full * 256 + partial).toBe(hashes);
      expect(partial).toBe(hashes % 256);
    }
  });
});
