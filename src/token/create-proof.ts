/** Creating a Workload Proof Token for one HTTP request (docs/proof.md §3; draft-ietf-wimse-wpt-02 §2). */
import type { KeyObject } from 'node:crypto';
import { TbitError } from './errors.js';
import { signCompactJws } from './lib/jws.js';
import {
  BODY_HASH_CLAIM,
  canonicalAud,
  hashOf,
  isEmptyBody,
  MAX_PROOF_TTL_S,
  QUERY_HASH_CLAIM,
  WPT_TYP,
} from './lib/proof.js';
import { assertSigningKey, newJti } from './lib/sign.js';

/** Options of {@link createProof}. */
export interface CreateProofOptions {
  /** The TBIT chain exactly as it is sent in the token header (without `Bearer `). */
  token: string;
  /** Private key matching the leaf hop's `cnf.jwk` (Ed25519). */
  holderPrivateKey: KeyObject;
  /** HTTP method of the request (case-insensitive; signed upper-case). */
  method: string;
  /** Full target URI as the receiving Envoy sees it: scheme, authority, path and query. */
  url: string | URL;
  /** Request body bytes, exactly as sent (a string is sent, and hashed, as UTF-8). */
  body?: string | Uint8Array;
  /** Current time in epoch milliseconds (default Date.now()). */
  nowMs?: number;
  /** Proof lifetime in seconds (default 30, at most 300): `exp = iat + ttl`. */
  ttlSeconds?: number;
  /** Override the random 128-bit `jti` (tests only; a reused jti is denied as a replay). */
  jti?: string;
}

/**
 * Signs a WPT binding one request: header `{alg: EdDSA, typ: wpt+jwt}`, claims `aud` (target URI without
 * query), `htm`, `iat`, `exp`, `jti`, `wth` (SHA-256 of `token`), and `urn:sigil:qth` / `urn:sigil:bth`
 * (SHA-256 of the query / body) when the request has one. Returns the compact JWS to send in the
 * `Workload-Proof-Token` header. Throws `TBIT_ALG_REJECTED` for a non-Ed25519 key, `TBIT_INVALID_CLAIM`
 * for a bad URL, method or lifetime.
 */
export function createProof(o: CreateProofOptions): string {
  const key = assertSigningKey(o.holderPrivateKey, 'holderPrivateKey');
  let url: URL;
  try {
    url = typeof o.url === 'string' ? new URL(o.url) : o.url;
  } catch (e) {
    throw new TbitError('TBIT_INVALID_CLAIM', 'url is not an absolute URL', undefined, e);
  }
  const method = o.method.toUpperCase();
  if (!/^[A-Z]{1,32}$/.test(method))
    throw new TbitError('TBIT_INVALID_CLAIM', 'method is not an HTTP method');
  if (typeof o.token !== 'string' || o.token.length === 0)
    throw new TbitError('TBIT_INVALID_CLAIM', 'token must be the TBIT string');
  const ttl = o.ttlSeconds ?? 30;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_PROOF_TTL_S)
    throw new TbitError('TBIT_INVALID_CLAIM', `ttlSeconds must be an integer in 1..${MAX_PROOF_TTL_S}`);
  const iat = Math.floor((o.nowMs ?? Date.now()) / 1000);
  const claims: Record<string, unknown> = {
    aud: canonicalAud(url.protocol.slice(0, -1), url.host, url.pathname),
    htm: method,
    iat,
    exp: iat + ttl,
    jti: o.jti ?? newJti(),
    wth: hashOf(o.token),
  };
  // URL.search is '?' + the serialised query, the bytes a fetch puts on the wire after the path.
  const query = url.search.slice(1);
  if (query.length > 0) claims[QUERY_HASH_CLAIM] = hashOf(query);
  if (!isEmptyBody(o.body)) claims[BODY_HASH_CLAIM] = hashOf(o.body as string | Uint8Array);
  return signCompactJws({ alg: 'EdDSA', typ: WPT_TYP }, claims, key);
}
