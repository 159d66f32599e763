/**
 * Workload Proof Token (WPT) shared parts: the header, claim names and the request canonicalisation that both
 * {@link createProof} (holder side) and {@link verifyProof} (SIGIL side) must compute identically
 * (docs/proof.md). Model: draft-ietf-wimse-wpt-02 §2 (WPT) and RFC 9449 §4.2 (DPoP `htm`, `iat`).
 */
import { sha256 } from '../../lib/bytes.js';

/** The `typ` of a proof (draft-ietf-wimse-wpt-02 §2: `application/wpt+jwt`, RFC 8725 §3.11 explicit typing). */
export const WPT_TYP = 'wpt+jwt';

/** The HTTP header carrying the proof (draft-ietf-wimse-s2s-protocol / -wpt-01 §2; docs/proof.md §2). */
export const PROOF_HEADER = 'workload-proof-token';

/**
 * SIGIL's two claims beyond the draft: the draft binds neither the query nor the body, and its §2.3 asks for
 * collision-resistant names for such claims. Each holds base64url SHA-256 of the raw query / body bytes and is
 * present exactly when the query / body is non-empty.
 */
export const QUERY_HASH_CLAIM = 'urn:sigil:qth';
/** See {@link QUERY_HASH_CLAIM}. */
export const BODY_HASH_CLAIM = 'urn:sigil:bth';

/** Every claim a proof may carry; anything else (including the draft's `tth`/`oth`, unsupported) is rejected. */
export const PROOF_CLAIMS: ReadonlySet<string> = new Set([
  'aud',
  'htm',
  'iat',
  'exp',
  'jti',
  'wth',
  QUERY_HASH_CLAIM,
  BODY_HASH_CLAIM,
]);

/** Longest proof lifetime (`exp - iat`) a holder may ask for, in seconds. */
export const MAX_PROOF_TTL_S = 300;

/** The facts of one HTTP request that a proof binds (docs/proof.md §3). */
export interface ProofBinding {
  /** `scheme://authority/path`, lower-case scheme and host, default port dropped, no query or fragment. */
  aud: string;
  /** Upper-case method. */
  htm: string;
  /** Raw query string without `?` (empty when none). */
  query: string;
  /** Body bytes (empty when none). */
  body: Uint8Array | string | undefined;
}

const DEFAULT_PORT: Readonly<Record<string, string>> = { http: '80', https: '443' };

/**
 * Canonical target URI without query (draft-ietf-wimse-wpt-02 §2 `aud`; RFC 9110 §7.1 target URI): scheme and
 * host lower-cased, the scheme's default port dropped, the path kept byte for byte (Envoy has already
 * normalised it, and the client sends exactly what its URL serialises).
 */
export function canonicalAud(scheme: string, authority: string, path: string): string {
  const s = scheme.toLowerCase();
  let a = authority.toLowerCase();
  const port = DEFAULT_PORT[s];
  if (port !== undefined && a.endsWith(`:${port}`) && !a.endsWith(']')) a = a.slice(0, -(port.length + 1));
  return `${s}://${a}${path}`;
}

/** base64url SHA-256 of a token, query or body (draft-ietf-wimse-wpt-02 §2 `wth`: hash of the ASCII token). */
export function hashOf(data: string | Uint8Array): string {
  return sha256(data, 'base64url');
}

/** True when a body is absent or zero-length (no body hash claim then). */
export function isEmptyBody(body: string | Uint8Array | undefined): boolean {
  return body === undefined || body.length === 0;
}
