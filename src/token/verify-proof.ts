/** Verifying a Workload Proof Token against the verified chain and the request (docs/proof.md §5). */
import { assertInt } from '../lib/assert.js';
import type { VerifiedChain } from './api.js';
import { failWith, TbitError } from './errors.js';
import { holderKey } from './lib/chain.js';
import { parseCompactJws, parseJsonObject, verifySignature } from './lib/jws.js';
import {
  BODY_HASH_CLAIM,
  canonicalAud,
  hashOf,
  isEmptyBody,
  MAX_PROOF_TTL_S,
  PROOF_CLAIMS,
  QUERY_HASH_CLAIM,
  WPT_TYP,
} from './lib/proof.js';

/** The request as Envoy saw it (what the proof must bind). */
export interface ProofRequest {
  /** HTTP method (upper-case). */
  method: string;
  /** Envoy's `http.scheme` (the downstream scheme). */
  scheme: string;
  /** `:authority` (or `Host`). */
  authority: string;
  /** Path without query or fragment. */
  path: string;
  /** Raw query without `?` (empty when none). */
  query: string;
  /** Body bytes as Envoy sent them. */
  body: string | Uint8Array | undefined;
}

/** Options of {@link verifyProof}. */
export interface VerifyProofOptions {
  /** The verified TBIT chain presented with the proof (its leaf `cnf` is the key; its tokenHash is `wth`). */
  chain: VerifiedChain;
  request: ProofRequest;
  /** Now, in epoch seconds. */
  now: number;
  /** Oldest `iat` accepted, in seconds before now (authz.proof_window_s). */
  windowS: number;
  /** Clock skew tolerated both ways, in seconds. */
  skewS: number;
}

/** What a verified proof asserts, for the replay cache. */
export interface VerifiedProof {
  jti: string;
  iat: number;
  exp: number;
}

const JTI = /^[\x21-\x7e]{16,128}$/;
const B64_SHA256 = /^[A-Za-z0-9_-]{43}$/;
const TYPES: ReadonlySet<string> = new Set([WPT_TYP, `application/${WPT_TYP}`]);
const invalid = failWith('TBIT_PROOF_INVALID');

/**
 * Verifies `proof` (compact JWS) in the order of docs/proof.md §5: shape and header (typ/alg pinned), the leaf's
 * `cnf` key and the Ed25519 signature, the claims, time, then the request binding. Throws TbitError
 * `TBIT_PROOF_INVALID`, `TBIT_PROOF_EXPIRED` or `TBIT_PROOF_MISMATCH`. Replay (the `jti`) is the caller's:
 * it owns the cache (src/authz/check-proof.ts).
 */
export function verifyProof(proof: string, o: VerifyProofOptions): VerifiedProof {
  // 1. JWS shape and header: any failure of the shared JWS layer is an invalid proof, whatever its TBIT code.
  let parsed: ReturnType<typeof parseCompactJws>;
  try {
    parsed = parseCompactJws(proof);
  } catch (e) {
    throw new TbitError('TBIT_PROOF_INVALID', `proof: ${(e as Error).message}`, undefined, e);
  }
  const h = parsed.header;
  // RFC 8725 §3.11: explicit typing keeps a TBIT hop (tbit+jwt) or any other JWT from passing as a proof.
  if (typeof h.typ !== 'string' || !TYPES.has(h.typ.toLowerCase()))
    throw invalid('proof typ must be wpt+jwt');
  for (const k of Object.keys(h)) if (k !== 'alg' && k !== 'typ') throw invalid(`proof header member "${k}"`);
  // 2–3. The key is the leaf's cnf, never one the proof names (draft-ietf-wimse-wpt-02 §2).
  const cnf = o.chain.leaf.cnf;
  if (cnf === undefined) throw invalid('the token has no cnf key to prove');
  try {
    verifySignature(parsed, holderKey(cnf.jwk.x).key);
  } catch (e) {
    throw new TbitError(
      'TBIT_PROOF_INVALID',
      'proof signature does not verify with the cnf key',
      undefined,
      e,
    );
  }
  // 4. Claims.
  let c: Record<string, unknown>;
  try {
    c = parseJsonObject(parsed.payload, 'proof claims');
  } catch (e) {
    throw new TbitError('TBIT_PROOF_INVALID', 'proof claims are not a JSON object', undefined, e);
  }
  for (const k of Object.keys(c))
    if (!PROOF_CLAIMS.has(k)) throw invalid(`proof claim "${k}" is not supported`);
  const iat = assertInt(c.iat, 'iat', invalid, 0, 9_999_999_999);
  const exp = assertInt(c.exp, 'exp', invalid, 0, 9_999_999_999);
  if (typeof c.jti !== 'string' || !JTI.test(c.jti)) throw invalid('proof jti must be 16..128 visible ASCII');
  for (const k of ['aud', 'htm'] as const) {
    if (typeof c[k] !== 'string' || (c[k] as string).length > 8192)
      throw invalid(`proof ${k} must be a string`);
  }
  for (const k of ['wth', QUERY_HASH_CLAIM, BODY_HASH_CLAIM]) {
    if (c[k] !== undefined && (typeof c[k] !== 'string' || !B64_SHA256.test(c[k] as string)))
      throw invalid(`proof ${k} must be a base64url SHA-256`);
  }
  if (c.wth === undefined) throw invalid('proof wth is missing');
  // 5. Time (RFC 9449 §11.1: a short acceptance window around iat; draft §2: exp short and not passed).
  const { now, windowS, skewS } = o;
  if (exp <= iat || exp - iat > MAX_PROOF_TTL_S)
    throw new TbitError('TBIT_PROOF_EXPIRED', `proof lifetime must be 1..${MAX_PROOF_TTL_S} s`);
  if (iat > now + skewS) throw new TbitError('TBIT_PROOF_EXPIRED', 'proof iat is in the future');
  if (iat < now - windowS - skewS) throw new TbitError('TBIT_PROOF_EXPIRED', 'proof iat is too old');
  if (now >= exp + skewS) throw new TbitError('TBIT_PROOF_EXPIRED', 'proof has expired');
  // 6. Binding: token, method, target URI, query, body (docs/proof.md §4).
  const r = o.request;
  const mismatch = (what: string) =>
    new TbitError('TBIT_PROOF_MISMATCH', `proof ${what} does not match the request`);
  if (c.wth !== o.chain.tokenHash) throw mismatch('wth (token hash)');
  if (c.htm !== r.method) throw mismatch('htm (method)');
  if (c.aud !== canonicalAud(r.scheme, r.authority, r.path)) throw mismatch('aud (target URI)');
  const qth = r.query.length > 0 ? hashOf(r.query) : undefined;
  if (c[QUERY_HASH_CLAIM] !== qth) throw mismatch('query hash');
  const bth = isEmptyBody(r.body) ? undefined : hashOf(r.body as string | Uint8Array);
  if (c[BODY_HASH_CLAIM] !== bth) throw mismatch('body hash');
  return { jti: c.jti, iat, exp };
}
