/**
 * The same RFC 6962 §2.1 hash functions as lib/hash.ts on node:crypto (OpenSSL), for the server's
 * hot path (append, verify). One-shot `crypto.hash` (Node ≥ 20.12) over reused buffers: no Hash object
 * per call, which halves the cost. Never imported by browser-safe modules.
 */
import { hash } from 'node:crypto';

/** Length of a SHA-256 hash. */
const H = 32;
const scratch = Buffer.allocUnsafe(1 + 2 * H);

/** SHA-256(0x01 ‖ left ‖ right) via OpenSSL. */
export function nodeHashNode(left: Uint8Array, right: Uint8Array): Buffer {
  scratch[0] = 1;
  scratch.set(left, 1);
  scratch.set(right, 1 + H);
  return hash('sha256', scratch, 'buffer');
}

/** Scratch for {@link nodeHashLeaf} and {@link utf8Bytes}: no allocation per call. */
let big = Buffer.allocUnsafe(64 * 1024);
/** The scratch if it holds `n` bytes, grown up to 1 MiB; a one-off buffer past that (not kept). */
function scratchOf(n: number): Buffer {
  if (n <= big.length) return big;
  if (n > 1024 * 1024) return Buffer.allocUnsafe(n);
  big = Buffer.allocUnsafe(n);
  return big;
}

/** SHA-256(0x00 ‖ data) via OpenSSL, prefixed in the reused scratch buffer. */
export function nodeHashLeaf(data: Uint8Array): Buffer {
  const b = scratchOf(data.length + 1);
  b[0] = 0;
  b.set(data, 1);
  return hash('sha256', b.subarray(0, data.length + 1), 'buffer');
}

/**
 * The UTF-8 bytes of `text` in a buffer of their own. Encodes once into the scratch buffer (UTF-8 is at
 * most 3 bytes per UTF-16 unit, so it is grown up front when it might be too small) and copies out: no
 * separate byteLength pass over the string.
 */
export function utf8Bytes(text: string): Buffer {
  const b = scratchOf(text.length * 3);
  const n = b.write(text, 0, 'utf8');
  const v = Buffer.allocUnsafe(n);
  b.copy(v, 0, 0, n);
  return v;
}
