/**
 * Proof construction over any store of perfect-subtree hashes (browser-safe, no I/O of its own). Subtree
 * (level L, index i) covers leaves [i·2^L, (i+1)·2^L). Every function reads O(log n) subtrees: the RFC
 * 6962 recursion meets an imperfect range only on the right edge, which splits into ≤ log2(n) perfect ones.
 */
import { EMPTY_ROOT, isPow2, splitPoint } from './hash.js';

/** Returns the hash of perfect subtree (level, index). Throws if it is missing. */
export type SubtreeReader = (level: number, index: number) => Uint8Array;
/** SHA-256(0x01 ‖ l ‖ r). */
export type NodeHasher = (left: Uint8Array, right: Uint8Array) => Uint8Array;
/**
 * Optional memo of imperfect right-edge range hashes, keyed `start:end`. MTH(D[a:b]) never changes once
 * b ≤ size (append-only), and proofs against the same size share the same right-edge ranges.
 */
export type RangeMemo = Map<string, Uint8Array>;

function log2(n: number): number {
  let l = 0;
  while (n > 1) {
    n /= 2;
    l++;
  }
  return l;
}

/**
 * MTH(D[start:end]) (RFC 6962 §2.1) where `start` is a multiple of the largest power of two ≤ end-start,
 * which holds for every range the RFC recursions visit.
 */
export function rangeHash(
  start: number,
  end: number,
  read: SubtreeReader,
  node: NodeHasher,
  memo?: RangeMemo,
): Uint8Array {
  const n = end - start;
  if (n === 0) return EMPTY_ROOT;
  if (isPow2(n)) return read(log2(n), start / n);
  const key = memo ? `${start}:${end}` : '';
  const hit = memo?.get(key);
  if (hit) return hit;
  const k = splitPoint(n);
  const h = node(read(log2(k), start / k), rangeHash(start + k, end, read, node, memo));
  if (memo) {
    if (memo.size >= 4096) memo.clear();
    memo.set(key, h);
  }
  return h;
}

/** RFC 6962 §2.1.1 PATH(m, D[0:size]): leaf's sibling first, root's child last. */
export function inclusionPath(
  m: number,
  size: number,
  read: SubtreeReader,
  node: NodeHasher,
  memo?: RangeMemo,
): Uint8Array[] {
  const topDown: Uint8Array[] = [];
  let start = 0;
  let end = size;
  while (end - start > 1) {
    const k = splitPoint(end - start);
    if (m - start < k) {
      topDown.push(rangeHash(start + k, end, read, node, memo));
      end = start + k;
    } else {
      topDown.push(rangeHash(start, start + k, read, node, memo));
      start += k;
    }
  }
  return topDown.reverse();
}

/** RFC 6962 §2.1.2 PROOF(m, D[0:n]) = SUBPROOF(m, D[n], true), for 0 < m < n. */
export function consistencyPath(
  m: number,
  n: number,
  read: SubtreeReader,
  node: NodeHasher,
  memo?: RangeMemo,
): Uint8Array[] {
  const topDown: Uint8Array[] = [];
  let start = 0;
  let end = n;
  let mm = m;
  let b = true;
  while (mm !== end - start) {
    const k = splitPoint(end - start);
    if (mm <= k) {
      topDown.push(rangeHash(start + k, end, read, node, memo));
      end = start + k;
    } else {
      topDown.push(rangeHash(start, start + k, read, node, memo));
      start += k;
      mm -= k;
      b = false;
    }
  }
  if (!b) topDown.push(rangeHash(start, end, read, node, memo));
  return topDown.reverse();
}

/**
 * The perfect subtrees whose concatenation is D[0:size], largest first (the tree's right frontier),
 * as [level, index] pairs. root(size) folds their hashes right to left.
 */
export function frontierOf(size: number): Array<[level: number, index: number]> {
  const out: Array<[number, number]> = [];
  let start = 0;
  let rest = size;
  while (rest > 0) {
    let p = 1;
    while (p * 2 <= rest) p *= 2;
    out.push([log2(p), start / p]);
    start += p;
    rest -= p;
  }
  return out;
}

/** Folds frontier hashes (largest first) into MTH: H(f0, H(f1, … H(fk-1, fk))). */
export function foldFrontier(hashes: readonly Uint8Array[], node: NodeHasher): Uint8Array {
  if (hashes.length === 0) return EMPTY_ROOT;
  let acc = hashes[hashes.length - 1] as Uint8Array;
  for (let i = hashes.length - 2; i >= 0; i--) acc = node(hashes[i] as Uint8Array, acc);
  return acc;
}
