/**
 * Ed25519 key handling: strict public-JWK validation (RFC 8037 §2), JWK thumbprints (RFC 7638 §3),
 * and the bounded cache of holder (`cnf`) keys used on the hot path.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { Fail } from '../../lib/assert.js';
import { sha256 } from '../../lib/bytes.js';
import type { Ed25519PublicJwk } from '../api.js';

const JWK_MEMBERS = new Set(['kty', 'crv', 'x', 'kid']);
/**
 * Exactly 32 bytes of canonical base64url: 43 characters, the last one carrying 2 unused zero bits
 * (RFC 4648 §3.5), i.e. one of the 16 characters whose value is a multiple of 4. No decode needed.
 */
export const X32 = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

/**
 * Validates an Ed25519 public JWK and returns a clean copy. Rejects any other key type or curve, a
 * private part (`d`), unknown members, and an `x` that is not exactly 32 bytes of canonical base64url.
 */
export function assertEd25519PublicJwk(v: unknown, what: string, fail: Fail): Ed25519PublicJwk {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw fail(`${what} must be a JWK object`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!JWK_MEMBERS.has(k)) throw fail(`${what} has a forbidden member "${k}"`);
  }
  if (o.kty !== 'OKP' || o.crv !== 'Ed25519') throw fail(`${what} must be kty OKP, crv Ed25519`);
  const x = o.x;
  if (typeof x !== 'string' || !X32.test(x)) throw fail(`${what}.x must be 32 bytes of base64url`);
  const out: Ed25519PublicJwk = { kty: 'OKP', crv: 'Ed25519', x };
  if (o.kid !== undefined) {
    if (typeof o.kid !== 'string' || o.kid.length === 0 || o.kid.length > 256)
      throw fail(`${what}.kid is invalid`);
    out.kid = o.kid;
  }
  return out;
}

/** RFC 7638 §3.2 thumbprint of an OKP key: SHA-256 over {"crv","kty","x"} in lexicographic order. */
export function okpThumbprint(x: string): string {
  return sha256(`{"crv":"Ed25519","kty":"OKP","x":"${x}"}`, 'base64url');
}

/** Imports an (already validated) Ed25519 public JWK as a KeyObject. */
export function importEd25519(x: string): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
}

/** A holder key ready for verification, with its thumbprint (the child hop's expected `kid`). */
export interface CachedKey {
  key: KeyObject;
  thumbprint: string;
}
