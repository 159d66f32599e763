/**
 * RFC 6962 §2.1 / RFC 9162 §2.1.1 hashing, browser-safe (@noble/hashes, Uint8Array only).
 * leaf = SHA-256(0x00 ‖ d), node = SHA-256(0x01 ‖ l ‖ r), empty tree = SHA-256("").
 * The prefixes are the second-preimage defence: a leaf can never be mistaken for a node.
 */
import { sha256 } from '@noble/hashes/sha2.js';

/** Length of every hash in the tree (SHA-256). */
export const HASH_LEN = 32;

/** MTH({}) = SHA-256() (RFC 9162 §2.1.1). */
export const EMPTY_ROOT: Uint8Array = sha256(new Uint8Array(0));

/** SHA-256(0x00 ‖ data). */
export function hashLeaf(data: Uint8Array): Uint8Array {
  const buf = new Uint8Array(data.length + 1);
  buf.set(data, 1);
  return sha256(buf);
}

/** SHA-256(0x01 ‖ left ‖ right). */
export function hashNode(left: Uint8Array, right: Uint8Array): Uint8Array {
  const buf = new Uint8Array(1 + left.length + right.length);
  buf[0] = 1;
  buf.set(left, 1);
  buf.set(right, 1 + left.length);
  return sha256(buf);
}

/** Equality of two public byte strings. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= (a[i] as number) ^ (b[i] as number);
  return d === 0;
}

/** True for a safe integer ≥ 0. */
export function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/** True for a Uint8Array of exactly {@link HASH_LEN} bytes. */
export function isHash(h: unknown): h is Uint8Array {
  return h instanceof Uint8Array && h.length === HASH_LEN;
}

/** Largest power of two strictly below n (n ≥ 2): the RFC 6962 §2.1 split point k. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** True when n is a power of two (n ≥ 1). */
export function isPow2(n: number): boolean {
  if (n < 1) return false;
  while (n % 2 === 0) n /= 2;
  return n === 1;
}
