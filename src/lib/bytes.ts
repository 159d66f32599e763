/** Small byte helpers shared by token and ledger code. Node's Buffer does the heavy lifting. */
import { createHash } from 'node:crypto';

/** Base64url without padding (RFC 4648 §5, as JWS uses it: RFC 7515 §2). */
export function b64urlEncode(bytes: Uint8Array | string): string {
  return Buffer.from(typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes).toString('base64url');
}

const B64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Strict base64url decode: rejects padding, characters outside the alphabet and non-canonical
 * trailing bits (Buffer alone silently ignores garbage). Returns null on bad input.
 */
export function b64urlDecode(s: string): Buffer | null {
  if (!B64URL.test(s) || s.length % 4 === 1) return null;
  const out = Buffer.from(s, 'base64url');
  // Canonical check: re-encoding must give the same string (catches non-zero padding bits).
  if (out.toString('base64url') !== s) return null;
  return out;
}

/** SHA-256 digest. */
export function sha256(data: Uint8Array | string): Buffer {
  return createHash('sha256').update(data).digest();
}

/** Constant-time-irrelevant equality for public values (hashes, ids). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Lowercase hex. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
