/**
 * Real-key token fixtures for authz, e2e and bench tests: an Ed25519 issuer, a trust store holding its
 * key, and helpers that mint root tokens and delegate them with the token module's own mintRoot/delegate.
 */
import type { KeyObject } from 'node:crypto';
import type { Clock } from '../../src/lib/clock.js';
import { generateEd25519 } from '../../src/lib/ed25519-key.js';
import {
  createTrustStore,
  delegate,
  type Ed25519PublicJwk,
  type MutableTrustStore,
  mintRoot,
  publicJwkOf,
} from '../../src/token/index.js';

/** Trust domain of every fixture. */
export const TD = 'spiffe://sigil.mesh';
/** Issuer id of every fixture. */
export const ISS = `${TD}/sigil/issuer`;
/** SPIFFE ID of an agent named `n`. */
export const agentId = (n: string): string => `${TD}/agent/${n}/i1`;

/** An Ed25519 key pair plus its public JWK. */
export interface KeyPair {
  priv: KeyObject;
  pub: KeyObject;
  jwk: Ed25519PublicJwk;
}

/** A fresh Ed25519 key pair. */
export function keyPair(): KeyPair {
  const { privateKey, publicKey } = generateEd25519();
  return { priv: privateKey, pub: publicKey, jwk: publicJwkOf(publicKey) };
}

/** Options of {@link TestIdentity.mint}. */
export interface MintOpts {
  sub?: string;
  aud?: string | string[];
  scope: string[];
  task?: string;
  ttl?: number;
  /** Key the holder delegates with (default: a fresh pair, returned). */
  holder?: KeyPair;
}

/** A test issuer with its trust store. */
export interface TestIdentity {
  kid: string;
  issuer: KeyPair;
  trust: MutableTrustStore;
  /** JWKS with the issuer key (what a trust bundle file would hold). */
  jwks: { keys: Array<Ed25519PublicJwk & { kid: string; alg: string; use: string }> };
  /** Mints a root token; returns it with the holder key that can delegate it. */
  mint(o: MintOpts): { token: string; holder: KeyPair };
  /** Delegates `parent` (held by `holder`) to `sub` with a narrower scope. */
  delegate(
    parent: string,
    holder: KeyPair,
    sub: string,
    scope: string[],
    ttl?: number,
  ): { token: string; holder: KeyPair };
}

/** Creates a test issuer trusted by its own store. `clock` drives iat/exp. */
export function testIdentity(clock?: Clock): TestIdentity {
  const issuer = keyPair();
  const kid = 'test-issuer-1';
  const jwks = { keys: [{ ...issuer.jwk, kid, alg: 'EdDSA', use: 'sig' }] };
  const trust = createTrustStore({ jwks, issuers: [ISS], trustDomains: [TD.slice('spiffe://'.length)] });
  return {
    kid,
    issuer,
    trust,
    jwks,
    mint(o) {
      const holder = o.holder ?? keyPair();
      const token = mintRoot({
        issuerKey: issuer.priv,
        kid,
        iss: ISS,
        sub: o.sub ?? agentId('orchestrator'),
        aud: o.aud ?? TD,
        taskId: o.task ?? 'task-1',
        toolScope: o.scope,
        ttl: o.ttl ?? 300,
        holderKey: holder.jwk,
        ...(clock ? { clock } : {}),
      });
      return { token, holder };
    },
    delegate(parent, holder, sub, scope, ttl) {
      const child = keyPair();
      const token = delegate({
        parentToken: parent,
        holderPrivateKey: holder.priv,
        sub,
        toolScope: scope,
        holderKey: child.jwk,
        ...(ttl ? { ttl } : {}),
        ...(clock ? { clock } : {}),
      });
      return { token, holder: child };
    },
  };
}
