/** RFC 6962 §2.1 Merkle Tree Hash computed from scratch (browser-safe). */
import { badArgument } from './errors.js';
import { EMPTY_ROOT, hashLeaf, hashNode, isHash, splitPoint } from './lib/hash.js';

/**
 * MTH(D[n]) of the given entries (RFC 9162 §2.1.1): SHA-256("") for none, the leaf hash for one,
 * else H(0x01 ‖ MTH(D[0:k]) ‖ MTH(D[k:n])) with k the largest power of two below n.
 * Linear time; the log itself never recomputes from scratch except in `audit verify`.
 */
export function rootOf(leaves: readonly Uint8Array[]): Uint8Array {
  if (!Array.isArray(leaves)) throw badArgument('leaves must be an array');
  return rootFromLeafHashes(
    leaves.map((d) => {
      if (!(d instanceof Uint8Array)) throw badArgument('each leaf must be a Uint8Array');
      return hashLeaf(d);
    }),
  );
}

/** Like {@link rootOf} but from already-computed leaf hashes. */
export function rootFromLeafHashes(hashes: readonly Uint8Array[]): Uint8Array {
  if (!Array.isArray(hashes) || !hashes.every(isHash))
    throw badArgument('leaf hashes must be 32-byte Uint8Arrays');
  return mth(hashes, 0, hashes.length);
}

function mth(h: readonly Uint8Array[], start: number, end: number): Uint8Array {
  const n = end - start;
  if (n === 0) return EMPTY_ROOT;
  if (n === 1) return h[start] as Uint8Array;
  const k = splitPoint(n);
  return hashNode(mth(h, start, start + k), mth(h, start + k, end));
}
