/**
 * Hot-path byte helpers. Same contract as src/lib/bytes.ts (strict base64url, RFC 4648 §5 without padding,
 * as JWS requires in RFC 7515 §2) but the canonical-form check is O(1) instead of a re-encode, and hashing
 * uses the one-shot crypto.hash (no Hash object per call).
 */
import { hash } from 'node:crypto';

const B64URL = /^[A-Za-z0-9_-]+$/;
/** Value of each base64url character; used only for the last character's unused low bits. */
const VALUE = new Int8Array(128).fill(-1);
for (const [i, c] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'].entries()) {
  VALUE[c.charCodeAt(0)] = i;
}

/**
 * Strict base64url decode of a non-empty string: alphabet only, no padding, no impossible length (4n+1),
 * and zero unused bits in the last character (RFC 4648 §3.5 canonical encoding). Returns null otherwise.
 */
export function b64urlDecodeStrict(s: string): Buffer | null {
  const rem = s.length % 4;
  if (rem === 1 || !B64URL.test(s)) return null;
  if (rem !== 0) {
    const last = VALUE[s.charCodeAt(s.length - 1)]!;
    // 2 chars carry 1 byte (4 spare bits), 3 chars carry 2 bytes (2 spare bits).
    if ((last & (rem === 2 ? 0x0f : 0x03)) !== 0) return null;
  }
  return Buffer.from(s, 'base64url');
}

/** base64url(SHA-256(ASCII(s))): a hop's hash (`par`) and the token hash. */
export function sha256b64url(s: string | Buffer): string {
  return hash('sha256', s, 'base64url');
}
