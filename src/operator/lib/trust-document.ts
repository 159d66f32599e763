/**
 * SigilTrust → the JWKS document its sidecars poll. Checked with the token module's own trust store, so a key set
 * a sidecar would refuse (private member, bad point, repeated kid) is refused here and never served.
 */
import { createTrustStore } from '../../token/index.js';
import { OperatorError } from '../errors.js';
import type { TrustKey, TrustSpec } from './resources.js';

/** The JWKS bytes for `keys` (inline or fetched) under `spec`'s binding; throws OPERATOR_TRUST_INVALID. */
export function trustDocument(
  spec: Pick<TrustSpec, 'issuers' | 'trustDomains'>,
  keyList: readonly TrustKey[],
): Buffer {
  // Only the public members: whatever else a manifest carried is not forwarded to every sidecar.
  const keys = keyList.map((k) => ({
    kty: k.kty,
    crv: k.crv,
    x: k.x,
    kid: k.kid,
    alg: 'EdDSA',
    use: 'sig',
  }));
  const jwks = { keys };
  try {
    createTrustStore({ jwks, issuers: spec.issuers, trustDomains: spec.trustDomains });
  } catch (e) {
    throw new OperatorError('OPERATOR_TRUST_INVALID', (e as Error).message, e);
  }
  return Buffer.from(`${JSON.stringify(jwks)}\n`);
}
