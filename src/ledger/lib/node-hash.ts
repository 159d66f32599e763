/**
 * The same RFC 6962 §2.1 hash functions as lib/hash.ts on node:crypto (OpenSSL), for the server's
 * hot path (append, verify). One-shot `crypto.hash` (Node ≥ 20.12) over reused buffers: no Hash object
 * per call, which halves the cost. Never imported by browser-safe modules.
 */
import { hash } from 'node:crypto';

/** Length of a SHA-256 hash. */
const H = 32;
const scratch = Buffer.allocUnsafe(1 + 2 * H);

/**
 * SHA-256 of `data` in a Buffer on V8's heap. `hash(…, 'buffer')` returns a Buffer over memory allocated in
 * C++, an ArrayBuffer whose backing store the next scavenge frees (in its pause, with `--single-threaded-gc`);
 * the `binary` (latin1) form is a 32-character string, copied into a Buffer small enough (≤ 64 bytes) for V8 to keep
 * in the heap. 0.5–0.8 against 0.9–1.2 µs per hash here (bench/NOTES.md, session 39).
 */
function sha256(data: Uint8Array): Buffer {
  const s = hash('sha256', data, 'binary');
  const out = Buffer.alloc(H);
  for (let i = 0; i < H; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** SHA-256(0x01 ‖ left ‖ right) via OpenSSL. */
export function nodeHashNode(left: Uint8Array, right: Uint8Array): Buffer {
  scratch[0] = 1;
  scratch.set(left, 1);
  scratch.set(right, 1 + H);
  return sha256(scratch);
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
  return sha256(b.subarray(0, data.length + 1));
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
