/** Shared fixtures for token tests: real Ed25519 keys, a trust store, a frozen clock, a raw hop forger. */
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { frozenClock } from '../../src/lib/clock.js';
import type { Ed25519PublicJwk } from '../../src/token/api.js';
import { createTrustStore, publicJwkOf, TbitError, type TbitErrorCode } from '../../src/token/index.js';
import { hopHash } from '../../src/token/lib/hop.js';

/** 2026-01-01T00:00:00Z, the frozen "now" of every test. */
export const T0 = 1_767_225_600;
export const TD = 'spiffe://sigil.mesh';
export const ISS = 'spiffe://sigil.mesh/sigil/issuer';
export const KID = 'issuer-2026-01';
export const agent = (n: string): string => `spiffe://sigil.mesh/agent/${n}/i1`;

export interface Pair {
  priv: KeyObject;
  pub: KeyObject;
  jwk: Ed25519PublicJwk;
}

export function keyPair(): Pair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { priv: privateKey, pub: publicKey, jwk: publicJwkOf(publicKey) };
}

export const issuer = keyPair();

export function clockAt(s = T0) {
  return frozenClock(s * 1000);
}

export function trust(revocations?: { tasks: string[]; jtis: string[] }) {
  return createTrustStore({
    jwks: { keys: [{ ...issuer.jwk, kid: KID, alg: 'EdDSA', use: 'sig' }] },
    ...(revocations ? { revocations } : {}),
    issuers: [ISS],
  });
}

/** Runs `f` and returns the TbitError code it threw; fails the test on success or on any other exception type. */
export function codeOf(f: () => unknown): TbitErrorCode {
  try {
    f();
  } catch (e) {
    if (e instanceof TbitError) return e.code;
    throw new Error(`expected a TbitError, got ${String(e)}`, { cause: e });
  }
  throw new Error('expected a TbitError, but the call succeeded');
}

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

/** Signs any header/payload with a raw Ed25519 key, bypassing every check in the module (for forgeries). */
export function rawJws(header: object, payload: object, key: KeyObject): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`;
}

/** The last hop's JWS of a chain. */
export function leafJws(token: string): string {
  return token.slice(token.lastIndexOf('~') + 1);
}

export { hopHash };
