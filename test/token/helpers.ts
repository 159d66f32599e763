/** Shared fixtures for token tests: real Ed25519 keys, a trust store, a frozen clock, a raw hop forger. */
import { type KeyObject, sign } from 'node:crypto';
import { frozenClock } from '../../src/lib/clock.js';
import type { Ed25519PublicJwk } from '../../src/token/api.js';
import {
  createTrustStore,
  mintRoot,
  publicJwkOf,
  TbitError,
  type TbitErrorCode,
} from '../../src/token/index.js';
import { hopHash } from '../../src/token/lib/hop.js';

/** 2026-01-01T00:00:00Z, the frozen "now" of every test. */
export const T0 = 1_767_225_600;
export const TD = 'spiffe://sigil.mesh';
export const ISS = 'spiffe://sigil.mesh/sigil/issuer';
export const KID = 'issuer-2026-01';
/** The binding of the fixture issuer's key: its iss, and the fixtures' trust domain. */
export const BIND = { issuers: [ISS], trustDomains: ['sigil.mesh'] };
export const agent = (n: string): string => `spiffe://sigil.mesh/agent/${n}/i1`;

export interface Pair {
  priv: KeyObject;
  pub: KeyObject;
  jwk: Ed25519PublicJwk;
}

export function keyPair(): Pair {
  const { privateKey, publicKey } = generateEd25519();
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
    ...BIND,
  });
}

/** The fixture issuer's public JWK as a trust bundle lists it (or another pair's, under another kid). */
export const pubJwk = (k: Pair = issuer, kid = KID) => ({ ...k.jwk, kid, alg: 'EdDSA', use: 'sig' });

/** A root for `agent('h0')` signed by `k` under `kid` (mintRoot: valid at T0), optionally with a given jti. */
export function rootBy(k: Pair = issuer, kid = KID, jti?: string): string {
  return mintRoot({ ...rootOptions(k, kid), ...(jti ? { jti } : {}) });
}

/** The mintRoot options of {@link rootBy} (no holder key: add `holderKey` for a token that can delegate or prove). */
export function rootOptions(k: Pair = issuer, kid = KID) {
  return {
    issuerKey: k.priv,
    kid,
    iss: ISS,
    sub: agent('h0'),
    aud: TD,
    taskId: 'task-1',
    toolScope: ['fs.*'],
    ttl: 300,
    clock: clockAt(T0),
  };
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

/** Holder keys for hops 1..11 (generated once: keygen is the slow part of property runs). */
export const holders: Pair[] = Array.from({ length: 11 }, keyPair);

type Over = Record<string, unknown>;

function apply(base: Over, over: Over): Over {
  const out: Over = { ...base, ...over };
  for (const [k, v] of Object.entries(over)) if (v === undefined) delete out[k];
  return out;
}

/** Valid root claims at T0 (holder = holders[0]), with overrides (undefined deletes a claim). */
export function rootClaims(over: Over = {}): Over {
  return apply(
    {
      iss: ISS,
      sub: agent('h0'),
      aud: TD,
      iat: T0,
      nbf: T0,
      exp: T0 + 300,
      jti: `root-${Math.random().toString(36).slice(2)}`,
      task_id: 'task-1',
      tool_scope: ['fs.*', 'web.search', 'db.query.*'],
      cnf: { jwk: holders[0]!.jwk },
      dep: 1,
      dmax: 10,
    },
    over,
  );
}

/** A root signed by a raw signer (default: the trusted issuer key), bypassing mintRoot's checks. */
export function forgeRoot(over: Over = {}, header: Over = {}, key: KeyObject = issuer.priv): string {
  return rawJws(apply({ alg: 'EdDSA', typ: 'tbit+jwt', kid: KID }, header), rootClaims(over), key);
}

/**
 * Appends a hand-forged child to `chain`: by default a valid narrowing-free child signed by `signer`
 * (default: the parent's holder key from `holders`, by dep), with claim/header overrides applied AFTER
 * defaults, so a test changes exactly one thing.
 */
export function forgeChild(chain: string, over: Over = {}, header: Over = {}, signer?: KeyObject): string {
  const leaf = leafJws(chain);
  const p = JSON.parse(Buffer.from(leaf.split('.')[1]!, 'base64url').toString()) as Over;
  const dep = (p.dep as number) + 1;
  const parentHolder = holders[dep - 2]!;
  const claims = apply(
    {
      iss: p.sub,
      sub: agent(`h${dep - 1}`),
      aud: p.aud,
      iat: p.iat,
      nbf: p.iat,
      exp: p.exp,
      jti: `hop-${dep}-${Math.random().toString(36).slice(2)}`,
      task_id: p.task_id,
      tool_scope: p.tool_scope,
      cnf: { jwk: holders[dep - 1]!.jwk },
      par: hopHash(leaf),
      dep,
      dmax: p.dmax,
    },
    over,
  );
  const kid = jwkThumbprintSync(parentHolder.jwk);
  const hdr = apply({ alg: 'EdDSA', typ: 'tbit+jwt', kid }, header);
  return `${chain}~${rawJws(hdr, claims, signer ?? parentHolder.priv)}`;
}

import { generateEd25519 } from '../../src/lib/ed25519-key.js';
import { jwkThumbprint as jwkThumbprintSync } from '../../src/token/index.js';
