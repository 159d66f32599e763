/**
 * A SigilTrust's `jwksUri`: fetched over https only (the server's certificate checked against `caBundle` when set,
 * else Node's default roots), under a deadline and a body cap, conditional on the last ETag (RFC 9110 §13.1.2), no
 * redirects (src/lib/poll-source.ts). Only Ed25519 OKP public keys are accepted (RFC 8037 §2), with the limits the
 * CRD puts on inline keys; the token module's trust store then checks them like inline keys (trust-document.ts).
 */
import { X509Certificate } from 'node:crypto';
import { pollSource } from '../../lib/poll-source.js';
import { sourceKind } from '../../lib/source-url.js';
import { OperatorError } from '../errors.js';
import type { TrustKey } from './resources.js';

/** Transport limits of every fetch (`operator.trust_sources`). */
export interface JwksSourceLimits {
  timeoutMs: number;
  maxBytes: number;
}

/** One remote JWKS. */
export interface JwksSource {
  readonly uri: string;
  /**
   * The source's keys when its document changed since the last accepted read, undefined when unchanged (304).
   * Throws OPERATOR_TRUST_SOURCE_FAILED (transport, HTTP status, size) or OPERATOR_TRUST_INVALID (content).
   */
  read(): Promise<TrustKey[] | undefined>;
}

/** The CRD's limits on inline keys, applied to fetched ones. */
const MAX_KEYS = 64;
const X = /^[A-Za-z0-9_-]{43}$/;

/** The keys of a fetched JWKS document; throws OPERATOR_TRUST_INVALID for anything but Ed25519 public keys. */
export function remoteKeys(body: Buffer): TrustKey[] {
  const bad = (why: string) => new OperatorError('OPERATOR_TRUST_INVALID', `fetched JWKS: ${why}`);
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    throw bad('not JSON');
  }
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw bad('not a JWKS ({"keys": [...]})');
  if (keys.length === 0 || keys.length > MAX_KEYS)
    throw bad(`needs 1 to ${MAX_KEYS} keys, has ${keys.length}`);
  return keys.map((k: unknown, i) => {
    if (typeof k !== 'object' || k === null || Array.isArray(k)) throw bad(`key ${i} is not an object`);
    const j = k as Record<string, unknown>;
    const name = typeof j.kid === 'string' ? `key ${JSON.stringify(j.kid)}` : `key ${i}`;
    // A private member is refused outright: publishing one is an incident (as the token module's importJwks).
    if ('d' in j) throw bad(`${name} holds a private key`);
    // Unlike a sidecar's own importJwks, which skips foreign keys, nothing but Ed25519 is accepted here.
    if (j.kty !== 'OKP' || j.crv !== 'Ed25519')
      throw bad(`${name} is not an Ed25519 OKP key (kty ${String(j.kty)}, crv ${String(j.crv)})`);
    if (typeof j.kid !== 'string' || j.kid.length === 0 || j.kid.length > 128)
      throw bad(`${name} needs a kid of 1 to 128 characters`);
    if (typeof j.x !== 'string' || !X.test(j.x)) throw bad(`${name}: x is not a 32-byte base64url key`);
    if (j.alg !== undefined && j.alg !== 'EdDSA' && j.alg !== 'Ed25519')
      throw bad(`${name}: alg ${String(j.alg)}`);
    if (j.use !== undefined && j.use !== 'sig') throw bad(`${name}: use ${String(j.use)}`);
    return { kty: 'OKP', crv: 'Ed25519', x: j.x, kid: j.kid };
  });
}

/** The source at `uri`; throws OPERATOR_TRUST_SOURCE_FAILED at once for a non-https URI or an unusable caBundle. */
export function jwksSource(uri: string, caBundle: string | undefined, limits: JwksSourceLimits): JwksSource {
  const failed = (message: string, cause?: unknown) =>
    new OperatorError('OPERATOR_TRUST_SOURCE_FAILED', message, cause);
  // The CRD refuses other schemes; checked again so an object stored before that rule cannot read a file.
  if (sourceKind(uri) !== 'https') throw failed(`${uri}: only https:// is accepted`);
  if (caBundle !== undefined) {
    try {
      new X509Certificate(caBundle);
    } catch (e) {
      throw failed(`spec.caBundle is not a PEM certificate: ${(e as Error).message}`, e);
    }
  }
  const src = pollSource(uri, {
    maxBytes: limits.maxBytes,
    timeoutMs: limits.timeoutMs,
    accept: 'application/jwk-set+json, application/json',
    ...(caBundle !== undefined ? { ca: caBundle } : {}),
    error: (_kind, message, cause) => failed(message, cause),
  });
  return {
    uri,
    async read() {
      const body = await src.fetch();
      if (body === undefined) return undefined;
      try {
        return remoteKeys(body);
      } catch (e) {
        src.forget(); // a refused document is read (and refused) again next time, not taken as "unchanged"
        throw e;
      }
    },
  };
}
