/**
 * RFC 6962 / RFC 9162 hashing and proof verification: known answers, exhaustive cross-checks against the
 * naive reference for every size ≤ 64, random large sizes, and every mutated proof rejected.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EMPTY_ROOT,
  leafHash,
  rootFromLeafHashes,
  rootOf,
  verifyConsistency,
  verifyInclusion,
} from '../../src/ledger/browser.js';
import { nodeHashNode } from '../../src/ledger/lib/node-hash.js';
import { consistencyPath, inclusionPath, rangeHash, type SubtreeReader } from '../../src/ledger/lib/proof.js';
import { isSigilError } from '../../src/lib/errors.js';
import { flip } from './helpers.js';
import { hexOf, leafOf, mth, nodeOf, path, proof, unhex } from './naive.js';

// Certificate Transparency reference data (RFC 6962 test vectors as used by transparency-dev/merkle).
const CT_LEAVES = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map(unhex);
const CT_ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const CT_INCLUSION = [
  {
    index: 0,
    size: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    index: 5,
    size: 8,
    proof: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
];
const CT_CONSISTENCY = [
  {
    m: 2,
    n: 8,
    proof: [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    m: 6,
    n: 8,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  {
    m: 2,
    n: 5,
    proof: [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
];

/** Perfect-subtree store over an in-memory array of leaf hashes (what the LMDB `nodes` db holds). */
function reader(leaves: Uint8Array[]): SubtreeReader {
  const levels: Uint8Array[][] = [leaves];
  while ((levels[levels.length - 1] as Uint8Array[]).length > 1) {
    const prev = levels[levels.length - 1] as Uint8Array[];
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < prev.length; i += 2)
      next.push(nodeOf(prev[i] as Uint8Array, prev[i + 1] as Uint8Array));
    levels.push(next);
  }
  return (l, i) => {
    const h = levels[l]?.[i];
    if (!h) throw new Error(`no subtree (${l}, ${i})`);
    return h;
  };
}

const leavesN = (n: number, salt = 0): Uint8Array[] =>
  Array.from({ length: n }, (_, i) => leafOf(Buffer.from(`leaf-${salt}-${i}`)));

/** Every way to damage a proof: flip one byte of each hash, drop one, add one, reorder. */
function mutations(p: Uint8Array[]): Uint8Array[][] {
  const out: Uint8Array[][] = [];
  for (let i = 0; i < p.length; i++) {
    for (const byte of [0, 31]) {
      const q = p.map((h) => h.slice());
      flip(q[i] as Uint8Array, byte);
      out.push(q);
    }
  }
  if (p.length > 0) out.push(p.slice(0, -1), p.slice(1));
  out.push([...p, new Uint8Array(32)], [new Uint8Array(32), ...p]);
  if (p.length > 1) out.push([...p].reverse());
  return out;
}

describe('RFC 6962 hashing (known answers)', () => {
  it('empty root is SHA-256("") and leaf/node use prefixes 0x00/0x01', () => {
    expect(hexOf(EMPTY_ROOT)).toBe(CT_ROOTS[0]);
    expect(hexOf(rootOf([]))).toBe(CT_ROOTS[0]);
    expect(hexOf(leafHash(new Uint8Array(0)))).toBe(CT_ROOTS[1]);
    const a = leafHash(Uint8Array.of(0));
    expect(hexOf(nodeHashNode(leafHash(new Uint8Array(0)), a))).toBe(CT_ROOTS[2]);
  });
  it('matches the CT reference root for every size 0..8', () => {
    for (let n = 0; n <= 8; n++) expect(hexOf(rootOf(CT_LEAVES.slice(0, n))), `size ${n}`).toBe(CT_ROOTS[n]);
  });
  it('produces and verifies the CT reference inclusion proofs', () => {
    const leaves = CT_LEAVES.map(leafOf);
    for (const v of CT_INCLUSION) {
      const got = inclusionPath(v.index, v.size, reader(leaves), nodeHashNode).map(hexOf);
      expect(got).toEqual(v.proof);
      expect(
        verifyInclusion(
          leaves[v.index] as Uint8Array,
          v.index,
          v.size,
          v.proof.map(unhex),
          unhex(CT_ROOTS[v.size] as string),
        ),
      ).toBe(true);
    }
  });
  it('produces and verifies the CT reference consistency proofs', () => {
    const leaves = CT_LEAVES.map(leafOf);
    for (const v of CT_CONSISTENCY) {
      expect(consistencyPath(v.m, v.n, reader(leaves), nodeHashNode).map(hexOf)).toEqual(v.proof);
      expect(
        verifyConsistency(
          v.m,
          v.n,
          v.proof.map(unhex),
          unhex(CT_ROOTS[v.m] as string),
          unhex(CT_ROOTS[v.n] as string),
        ),
      ).toBe(true);
    }
  });
  it('rejects non-bytes with LEDGER_BAD_ARGUMENT', () => {
    expect(() => leafHash('x' as unknown as Uint8Array)).toThrow(
      expect.objectContaining({ code: 'LEDGER_BAD_ARGUMENT' }),
    );
    expect(() => rootOf([1] as unknown as Uint8Array[])).toThrow(
      expect.objectContaining({ code: 'LEDGER_BAD_ARGUMENT' }),
    );
    try {
      rootFromLeafHashes([new Uint8Array(31)]);
    } catch (e) {
      expect(isSigilError(e, 'LEDGER_BAD_ARGUMENT')).toBe(true);
    }
  });
});

describe('every proof for every size ≤ 64 equals the naive definition and verifies', () => {
  const all = leavesN(64);
  it('inclusion: every (index, size), plus all mutations and wrong indices rejected', () => {
    let checked = 0;
    for (let n = 1; n <= 64; n++) {
      const leaves = all.slice(0, n);
      const read = reader(leaves);
      const root = mth(leaves);
      expect(hexOf(rangeHash(0, n, read, nodeHashNode))).toBe(hexOf(root));
      expect(hexOf(rootFromLeafHashes(leaves))).toBe(hexOf(root));
      for (let i = 0; i < n; i++) {
        const p = inclusionPath(i, n, read, nodeHashNode);
        expect(p.map(hexOf)).toEqual(path(i, leaves).map(hexOf));
        const leaf = leaves[i] as Uint8Array;
        expect(verifyInclusion(leaf, i, n, p, root)).toBe(true);
        for (const q of mutations(p)) expect(verifyInclusion(leaf, i, n, q, root)).toBe(false);
        for (const j of [i - 1, i + 1, n, n + 1, -1])
          if (j !== i) expect(verifyInclusion(leaf, j, n, p, root)).toBe(false);
        const bad = leaf.slice();
        flip(bad, 0, 0x80);
        expect(verifyInclusion(bad, i, n, p, root)).toBe(false);
        checked++;
      }
    }
    expect(checked).toBe((64 * 65) / 2);
  });

  it('consistency: every (m, n), plus all mutations and wrong sizes/roots rejected', () => {
    for (let n = 1; n <= 64; n++) {
      const leaves = all.slice(0, n);
      const read = reader(leaves);
      const root2 = mth(leaves);
      for (let m = 1; m < n; m++) {
        const p = consistencyPath(m, n, read, nodeHashNode);
        expect(p.map(hexOf)).toEqual(proof(m, leaves).map(hexOf));
        const root1 = mth(all.slice(0, m));
        expect(verifyConsistency(m, n, p, root1, root2)).toBe(true);
        for (const q of mutations(p)) expect(verifyConsistency(m, n, q, root1, root2)).toBe(false);
        expect(verifyConsistency(m, n, p, root2, root2)).toBe(false);
        expect(verifyConsistency(m, n, p, root1, root1)).toBe(false);
        expect(verifyConsistency(n, m, p, root2, root1)).toBe(false);
        if (m + 1 < n) expect(verifyConsistency(m + 1, n, p, root1, root2)).toBe(false);
      }
      // Edge rules (docs/ledger.md §Proofs).
      expect(verifyConsistency(n, n, [], root2, root2)).toBe(true);
      expect(verifyConsistency(n, n, [root2], root2, root2)).toBe(false);
      expect(verifyConsistency(0, n, [], EMPTY_ROOT, root2)).toBe(true);
      expect(verifyConsistency(0, n, [], root2, root2)).toBe(false);
      expect(verifyConsistency(0, n, [root2], EMPTY_ROOT, root2)).toBe(false);
    }
    expect(verifyConsistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)).toBe(true);
  });
});

describe('random sizes up to 100k', () => {
  it('inclusion and consistency proofs from the subtree store verify and match the naive path', () => {
    const all = leavesN(100_000, 7);
    const read = reader(all);
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 100_000 }), fc.nat(), fc.nat(), (n, a, b) => {
        const i = a % n;
        const m = 1 + (b % (n - 1));
        const root = rangeHash(0, n, read, nodeHashNode);
        const p = inclusionPath(i, n, read, nodeHashNode);
        expect(verifyInclusion(all[i] as Uint8Array, i, n, p, root)).toBe(true);
        const q = consistencyPath(m, n, read, nodeHashNode);
        expect(verifyConsistency(m, n, q, rangeHash(0, m, read, nodeHashNode), root)).toBe(true);
        const flipped = p.map((h) => h.slice());
        if (flipped.length > 0) {
          flip(flipped[flipped.length - 1] as Uint8Array, 5, 4);
          expect(verifyInclusion(all[i] as Uint8Array, i, n, flipped, root)).toBe(false);
        }
      }),
      { numRuns: 200, seed: 6962 },
    );
    // One full naive cross-check at a big odd size.
    const n = 12_345;
    expect(hexOf(rangeHash(0, n, read, nodeHashNode))).toBe(hexOf(mth(all.slice(0, n))));
    expect(inclusionPath(9_999, n, read, nodeHashNode).map(hexOf)).toEqual(
      path(9_999, all.slice(0, n)).map(hexOf),
    );
    expect(consistencyPath(777, n, read, nodeHashNode).map(hexOf)).toEqual(
      proof(777, all.slice(0, n)).map(hexOf),
    );
  });
});

describe('verifiers fail closed on malformed arguments (never throw)', () => {
  const leaf = leafOf(Uint8Array.of(1));
  const BAD: Array<[string, () => boolean]> = [
    ['leaf not bytes', () => verifyInclusion('x' as unknown as Uint8Array, 0, 1, [], leaf)],
    ['short leaf', () => verifyInclusion(new Uint8Array(31), 0, 1, [], leaf)],
    ['proof not array', () => verifyInclusion(leaf, 0, 1, null as unknown as Uint8Array[], leaf)],
    ['proof item not 32 bytes', () => verifyInclusion(leaf, 0, 2, [new Uint8Array(33)], leaf)],
    ['NaN index', () => verifyInclusion(leaf, Number.NaN, 1, [], leaf)],
    ['fractional size', () => verifyInclusion(leaf, 0, 1.5, [], leaf)],
    ['index == size', () => verifyInclusion(leaf, 1, 1, [], leaf)],
    ['size 0', () => verifyInclusion(leaf, 0, 0, [], leaf)],
    [
      'huge proof',
      () =>
        verifyInclusion(
          leaf,
          0,
          2,
          Array.from({ length: 65 }, () => leaf),
          leaf,
        ),
    ],
    ['consistency size1 > size2', () => verifyConsistency(3, 2, [leaf], leaf, leaf)],
    ['consistency empty proof', () => verifyConsistency(1, 2, [], leaf, leaf)],
    ['consistency negative', () => verifyConsistency(-1, 2, [leaf], leaf, leaf)],
    [
      'consistency roots not bytes',
      () => verifyConsistency(1, 2, [leaf], 'a' as unknown as Uint8Array, leaf),
    ],
    ['consistency unsafe size', () => verifyConsistency(1, 2 ** 60, [leaf], leaf, leaf)],
  ];
  it.each(BAD)('%s → false', (_name, f) => {
    expect(f()).toBe(false);
  });
  it('size 1 inclusion with an empty proof verifies only the root', () => {
    expect(verifyInclusion(leaf, 0, 1, [], leaf)).toBe(true);
    expect(verifyInclusion(leaf, 0, 1, [], EMPTY_ROOT)).toBe(false);
  });
});
