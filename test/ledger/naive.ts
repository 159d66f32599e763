/**
 * A naive RFC 6962 reference written straight from the definitions (§2.1 MTH, §2.1.1 PATH, §2.1.2
 * PROOF/SUBPROOF), recursive over arrays of leaf hashes and independent of src/ledger/lib/proof.ts.
 */
import { createHash } from 'node:crypto';

export const sha = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
export const leafOf = (d: Uint8Array): Uint8Array => sha(Uint8Array.of(0), d);
export const nodeOf = (l: Uint8Array, r: Uint8Array): Uint8Array => sha(Uint8Array.of(1), l, r);

function k(n: number): number {
  let x = 1;
  while (x * 2 < n) x *= 2;
  return x;
}

/** MTH over leaf hashes. */
export function mth(h: Uint8Array[]): Uint8Array {
  if (h.length === 0) return sha();
  if (h.length === 1) return h[0] as Uint8Array;
  const s = k(h.length);
  return nodeOf(mth(h.slice(0, s)), mth(h.slice(s)));
}

/** PATH(m, D[n]). */
export function path(m: number, h: Uint8Array[]): Uint8Array[] {
  if (h.length <= 1) return [];
  const s = k(h.length);
  return m < s
    ? [...path(m, h.slice(0, s)), mth(h.slice(s))]
    : [...path(m - s, h.slice(s)), mth(h.slice(0, s))];
}

function subproof(m: number, h: Uint8Array[], b: boolean): Uint8Array[] {
  if (m === h.length) return b ? [] : [mth(h)];
  const s = k(h.length);
  return m <= s
    ? [...subproof(m, h.slice(0, s), b), mth(h.slice(s))]
    : [...subproof(m - s, h.slice(s), false), mth(h.slice(0, s))];
}

/** PROOF(m, D[n]) for 0 < m < n. */
export function proof(m: number, h: Uint8Array[]): Uint8Array[] {
  return subproof(m, h, true);
}

export const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
