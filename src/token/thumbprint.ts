/** RFC 7638 JWK thumbprints of Ed25519 keys (the `kid` of delegated hops, docs/chains.md §2). */
import type { Ed25519PublicJwk } from './api.js';
import { failWith } from './errors.js';
import { assertEd25519PublicJwk, okpThumbprint } from './lib/keys.js';

/**
 * RFC 7638 §3 thumbprint (SHA-256, base64url) of an Ed25519 public JWK. Synchronous, unlike
 * jose's `calculateJwkThumbprint`, and gives the same value (tested). Throws `TBIT_INVALID_CLAIM` for a JWK
 * that is not a well-formed Ed25519 public key.
 */
export function jwkThumbprint(jwk: Ed25519PublicJwk): string {
  const clean = assertEd25519PublicJwk(
    jwk.kid === undefined ? jwk : { kty: jwk.kty, crv: jwk.crv, x: jwk.x },
    'jwk',
    failWith('TBIT_INVALID_CLAIM'),
  );
  return okpThumbprint(clean.x);
}
