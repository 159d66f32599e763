/**
 * The same RFC 6962 §2.1 hash functions as lib/hash.ts on node:crypto (OpenSSL), for the server's
 * hot path (append, verify). One-shot `crypto.hash` (Node ≥ 20.12) over reused buffers: no Hash object
 * per call, which halves the cost. Never imported by browser-safe modules.
 */
import { hash } from 'node:crypto';

/** Length of a SHA-256 hash. */
const H = 32;
const scratch = Buffer.allocUnsafe(1 + 2 * H);

/** SHA-256(0x00 ‖ data) via OpenSSL. */
export function nodeHashLeaf(data: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(1 + data.length);
  b[0] = 0;
  b.set(data, 1);
  return hash('sha256', b, 'buffer');
}

/** SHA-256(0x01 ‖ left ‖ right) via OpenSSL. */
export function nodeHashNode(left: Uint8Array, right: Uint8Array): Buffer {
  scratch[0] = 1;
  scratch.set(left, 1);
  scratch.set(right, 1 + H);
  return hash('sha256', scratch, 'buffer');
}

/**
 * The stored entry value `leafHash ‖ data` in one allocation: data is placed at offset 32, byte 31 is
 * set to the 0x00 leaf prefix, the leaf hash of bytes [31, end) is computed and then written over [0, 32).
 */
export function leafValue(data: Uint8Array): Buffer {
  const v = Buffer.allocUnsafe(H + data.length);
  v.set(data, H);
  v[H - 1] = 0;
  hash('sha256', v.subarray(H - 1), 'buffer').copy(v, 0);
  return v;
}

/** Scratch for {@link leafValueUtf8}: most records encode in one pass without measuring first. */
let utf8Scratch = Buffer.allocUnsafe(64 * 1024);

/**
 * {@link leafValue} of the UTF-8 bytes of `text`. Encodes once into a scratch buffer (UTF-8 is at most
 * 3 bytes per UTF-16 unit, so the scratch is grown up front when it might be too small), hashes
 * `0x00 ‖ bytes` in place and copies the result out: no separate byteLength pass over the string.
 */
export function leafValueUtf8(text: string): Buffer {
  const need = H + text.length * 3;
  if (need > utf8Scratch.length) utf8Scratch = Buffer.allocUnsafe(need);
  const n = utf8Scratch.write(text, H, 'utf8');
  utf8Scratch[H - 1] = 0;
  const v = Buffer.allocUnsafe(H + n);
  hash('sha256', utf8Scratch.subarray(H - 1, H + n), 'buffer').copy(v, 0);
  utf8Scratch.copy(v, H, H, H + n);
  return v;
}
