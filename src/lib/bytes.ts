/**
 * Byte helpers for server-side code (token, authz, issuer): base64url (RFC 4648 §5, no padding, as JWS
 * uses it: RFC 7515 §2), SHA-256 and constant-time secret comparison. The browser-safe twins for the dashboard live in src/ledger/lib/.
 */
import { hash, timingSafeEqual } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Inputs up to this many bytes (hashes, keys) are encoded in JS, larger ones by Buffer. */
const SHORT = 64;

/**
 * Base64url without padding. Short byte strings (a hash, a key) are encoded here, in JS: through Buffer they
 * would be copied into an ArrayBuffer of their own, which the next scavenge frees in its pause (and a hash
 * held in V8's heap would be moved out of it by asking for its `.buffer`).
 */
export function b64urlEncode(bytes: Uint8Array | string): string {
  if (typeof bytes === 'string') return Buffer.from(bytes, 'utf8').toString('base64url');
  if (bytes.length > SHORT) return Buffer.from(bytes).toString('base64url');
  let s = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    s += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!;
  }
  if (i < bytes.length) {
    // RFC 4648 §4: one byte left is two characters, two bytes are three; no padding (§5, RFC 7515 §2).
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8);
    s += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]!;
    if (i + 1 < bytes.length) s += ALPHABET[(n >> 6) & 63]!;
  }
  return s;
}

const B64URL = /^[A-Za-z0-9_-]+$/;
/** Value of each base64url character; used only for the last character's unused low bits. */
const VALUE = new Int8Array(128).fill(-1);
for (const [i, c] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'].entries()) {
  VALUE[c.charCodeAt(0)] = i;
}

/**
 * Strict base64url decode of a non-empty string: alphabet only, no padding, no impossible length (4n+1),
 * and zero unused bits in the last character (RFC 4648 §3.5 canonical encoding), checked in O(1) instead
 * of by re-encoding (Buffer alone silently ignores garbage). Returns null otherwise.
 */
export function b64urlDecode(s: string): Buffer | null {
  const rem = s.length % 4;
  if (rem === 1 || !B64URL.test(s)) return null;
  if (rem !== 0) {
    const last = VALUE[s.charCodeAt(s.length - 1)]!;
    // 2 chars carry 1 byte (4 spare bits), 3 chars carry 2 bytes (2 spare bits).
    if ((last & (rem === 2 ? 0x0f : 0x03)) !== 0) return null;
  }
  return Buffer.from(s, 'base64url');
}

/**
 * SHA-256 of `data` (a string is hashed as UTF-8): the digest bytes, or encoded as `encoding`
 * (`base64url` for hop and token hashes). One-shot crypto.hash: no Hash object per call on the hot path.
 */
export function sha256(data: string | Uint8Array): Buffer;
export function sha256(data: string | Uint8Array, encoding: 'base64url' | 'hex'): string;
export function sha256(
  data: string | Uint8Array,
  encoding: 'base64url' | 'hex' | 'buffer' = 'buffer',
): Buffer | string {
  return hash('sha256', data, encoding);
}

/**
 * Constant-time comparison of a presented credential with the configured one. Both sides are hashed first so the
 * comparison length never depends on the secret (timingSafeEqual needs equal lengths).
 */
export function credentialMatches(presented: string, expected: string): boolean {
  return timingSafeEqual(sha256(presented), sha256(expected));
}
