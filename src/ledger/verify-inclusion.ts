/** RFC 9162 §2.1.3.2 inclusion proof verification (browser-safe). */
import { equalBytes, hashNode, isCount, isHash } from './lib/hash.js';

/** Longest proof any safe-integer tree size can need (ceil(log2(2^53))). */
const MAX_PROOF = 64;

/**
 * Verifies that `leafHash` is the leaf at `index` of the tree of `size` leaves whose root is `root`,
 * exactly per RFC 9162 §2.1.3.2. Never throws: any malformed argument (wrong types, hash lengths,
 * index ≥ size, over-long proof) is simply `false` — a verifier fails closed.
 */
export function verifyInclusion(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!isHash(leafHash) || !isHash(root) || !isCount(index) || !isCount(size)) return false;
  if (!Array.isArray(proof) || proof.length > MAX_PROOF || !proof.every(isHash)) return false;
  // Step 1: leaf_index >= tree_size fails.
  if (index >= size) return false;
  // Step 2: fn = leaf_index, sn = tree_size - 1; step 3: r = hash.
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  // Step 4 (numbers, not 32-bit bit operators, so sizes up to 2^53 work).
  for (const p of proof) {
    if (sn === 0) return false; // 4a
    if (fn % 2 === 1 || fn === sn) {
      r = hashNode(p, r); // 4b.i
      if (fn % 2 === 0) {
        // 4b.ii: right-shift until LSB(fn) set or fn == 0
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = hashNode(r, p); // 4b "Otherwise"
    }
    fn = Math.floor(fn / 2); // 4c
    sn = Math.floor(sn / 2);
  }
  // Step 5: sn == 0 and r == root.
  return sn === 0 && equalBytes(r, root);
}
