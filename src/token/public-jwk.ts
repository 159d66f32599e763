/** Public JWK of an Ed25519 key (RFC 8037 §2). */
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { Ed25519PublicJwk } from './api.js';
import { TbitError } from './errors.js';

/**
 * The Ed25519 public JWK `{kty, crv, x}` of a private or public KeyObject. Never exports `d`.
 * Throws `TBIT_INVALID_CLAIM` when the key is not Ed25519.
 */
export function publicJwkOf(key: KeyObject): Ed25519PublicJwk {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new TbitError(
      'TBIT_INVALID_CLAIM',
      `key must be Ed25519, got ${key.asymmetricKeyType ?? key.type}`,
    );
  }
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const jwk = pub.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new TbitError('TBIT_INVALID_CLAIM', 'key has no x coordinate');
  return { kty: 'OKP', crv: 'Ed25519', x: jwk.x };
}
