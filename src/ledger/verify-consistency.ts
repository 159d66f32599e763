/** RFC 9162 §2.1.4.2 consistency proof verification (browser-safe). */
import { EMPTY_ROOT, equalBytes, hashNode, isCount, isHash, isPow2 } from './lib/hash.js';

const MAX_PROOF = 128;

/**
 * Verifies that the tree of `size1` leaves with root `root1` is a prefix of the tree of `size2` leaves
 * with root `root2`, exactly per RFC 9162 §2.1.4.2. Edge rules (docs/ledger.md §Proofs):
 * - size1 > size2 → false;
 * - size1 == size2 → the proof must be empty and root1 == root2 (RFC 9162 §2.1.4.1: equal trees need no proof);
 * - size1 == 0 → the proof must be empty and root1 must be SHA-256("") (the empty tree is a prefix of
 *   every tree; RFC 6962 only defines proofs for 0 < m < n, so we accept exactly the empty proof).
 * Never throws: malformed input is `false`.
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): boolean {
  if (!isCount(size1) || !isCount(size2) || !isHash(root1) || !isHash(root2)) return false;
  if (!Array.isArray(proof) || proof.length > MAX_PROOF || !proof.every(isHash)) return false;
  if (size1 > size2) return false;
  if (size1 === size2) return proof.length === 0 && equalBytes(root1, root2);
  if (size1 === 0) return proof.length === 0 && equalBytes(root1, EMPTY_ROOT);
  // Step 1: an empty path fails.
  if (proof.length === 0) return false;
  // Step 2: if first is an exact power of 2, prepend first_hash.
  const path = isPow2(size1) ? [root1, ...proof] : [...proof];
  // Step 3.
  let fn = size1 - 1;
  let sn = size2 - 1;
  // Step 4: while LSB(fn) set, shift both.
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  // Step 5.
  let fr = path[0] as Uint8Array;
  let sr = fr;
  // Step 6.
  for (let i = 1; i < path.length; i++) {
    const c = path[i] as Uint8Array;
    if (sn === 0) return false; // 6a
    if (fn % 2 === 1 || fn === sn) {
      fr = hashNode(c, fr); // 6b.1
      sr = hashNode(c, sr); // 6b.2
      if (fn % 2 === 0) {
        // 6b.3
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = hashNode(sr, c); // 6b "Otherwise"
    }
    fn = Math.floor(fn / 2); // 6c
    sn = Math.floor(sn / 2);
  }
  // Step 7.
  return equalBytes(fr, root1) && equalBytes(sr, root2) && sn === 0;
}
