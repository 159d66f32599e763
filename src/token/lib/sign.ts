/** Building and signing one hop (shared by mintRoot and delegate). */
import { type KeyObject, randomBytes } from 'node:crypto';
import { b64urlEncode } from '../../lib/bytes.js';
import type { Ed25519PublicJwk, TbitClaims } from '../api.js';
import { TbitError } from '../errors.js';
import { TBIT_TYP } from './claims.js';
import { signCompactJws } from './jws.js';
import { assertEd25519PublicJwk } from './keys.js';

/** A fresh jti: 128 random bits, base64url (22 characters). */
export function newJti(): string {
  return b64urlEncode(randomBytes(16));
}

/** Validated `cnf` for a holder key (members reduced to kty/crv/x: a kid inside cnf serves no one). */
export function cnfOf(jwk: Ed25519PublicJwk | undefined): TbitClaims['cnf'] {
  if (jwk === undefined) return undefined;
  const clean = assertEd25519PublicJwk(
    { kty: jwk.kty, crv: jwk.crv, x: jwk.x },
    'holderKey',
    (w) => new TbitError('TBIT_INVALID_CLAIM', w),
  );
  return { jwk: clean };
}

/** Asserts an Ed25519 private KeyObject (the only kind of key that may sign a hop). */
export function assertSigningKey(key: unknown, what: string): KeyObject {
  const k = key as KeyObject | undefined;
  if (typeof k !== 'object' || k === null || k.type !== 'private' || k.asymmetricKeyType !== 'ed25519') {
    throw new TbitError('TBIT_ALG_REJECTED', `${what} must be an Ed25519 private KeyObject`);
  }
  return k;
}

/** Signs one hop: header {alg: EdDSA, typ: tbit+jwt, kid} (docs/tbit.md §3). Claims keep a fixed order. */
export function signHop(claims: TbitClaims, kid: string, key: KeyObject): string {
  const ordered: Record<string, unknown> = {
    iss: claims.iss,
    sub: claims.sub,
    aud: claims.aud,
    iat: claims.iat,
    nbf: claims.nbf,
    exp: claims.exp,
    jti: claims.jti,
    task_id: claims.task_id,
    tool_scope: claims.tool_scope,
  };
  if (claims.cnf !== undefined) ordered.cnf = claims.cnf;
  if (claims.par !== undefined) ordered.par = claims.par;
  ordered.dep = claims.dep;
  ordered.dmax = claims.dmax;
  return signCompactJws({ alg: 'EdDSA', typ: TBIT_TYP, kid }, ordered, key);
}
