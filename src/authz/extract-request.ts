/**
 * Step 0 of the pipeline: validate the CheckRequest Envoy sent and reduce it to the few facts the
 * decision needs. Everything comes from the wire, so every field is checked (docs/authz.md §Input).
 */
import type { CheckRequest } from '../../gen/envoy/service/auth/v3/external_auth_pb.js';
import { AuthzError } from './errors.js';
import { normalizeHeaders } from './lib/headers.js';
import { LIMITS } from './lib/limits.js';

/** The request as the pipeline sees it. */
export interface RequestView {
  /** Upper-case HTTP method. */
  method: string;
  /** Path without the query string (as Envoy forwarded it, after its normalisation). */
  path: string;
  host: string;
  /** Envoy's `http.scheme` (the downstream connection's scheme), lower-case; '' when Envoy sent none. */
  scheme: string;
  /** Raw query: the bytes between the first `?` and the first `#` of Envoy's path ('' when none). */
  query: string;
  /** Lower-case header name → value (null prototype). */
  headers: Record<string, string>;
  /** Request body, when Envoy sent one (with_request_body); bytes when pack_as_bytes. */
  body: string | Uint8Array | undefined;
  /** Envoy truncated the body at max_request_bytes (x-envoy-auth-partial-body: true). */
  bodyPartial: boolean;
  /** mTLS peer principal (source.principal), when Envoy reported one. */
  principal: string | undefined;
}

const METHOD = /^[A-Z]{1,32}$/;

/**
 * Any dot-segment, empty segment (`//`) or encoded separator: Envoy's normalize_path and merge_slashes should
 * have removed them; refuse them anyway, since an upstream that normalises would run a path no route matched.
 */
const UNSAFE_PATH = /(^|\/)\.\.?(\/|$)|\/\/|%2[fF]|%5[cC]|\\|%2[eE]/;

/** Validates `req` and returns its {@link RequestView}. Throws AuthzError (AUTHZ_BAD_REQUEST, …). */
export function extractRequest(req: CheckRequest | undefined, maxBodyBytes: number): RequestView {
  const http = req?.attributes?.request?.http;
  if (!http) {
    throw new AuthzError('AUTHZ_BAD_REQUEST', 'CheckRequest has no attributes.request.http');
  }
  const method = http.method;
  if (!METHOD.test(method)) {
    throw new AuthzError('AUTHZ_BAD_REQUEST', 'missing or invalid HTTP method');
  }
  const fullPath = http.path;
  if (fullPath.length === 0 || fullPath.length > LIMITS.maxPath) {
    throw new AuthzError('AUTHZ_BAD_REQUEST', 'missing or oversized request path');
  }
  const q = fullPath.search(/[?#]/);
  const path = q === -1 ? fullPath : fullPath.slice(0, q);
  let query = '';
  if (q !== -1 && fullPath[q] === '?') {
    const f = fullPath.indexOf('#', q);
    query = fullPath.slice(q + 1, f === -1 ? undefined : f);
  }
  if (!path.startsWith('/') || UNSAFE_PATH.test(path) || path.includes('\uFFFD')) {
    throw new AuthzError('AUTHZ_BAD_REQUEST', 'request path must be absolute and normalised');
  }
  const headers = normalizeHeaders(http);
  // proto3 strings are '' when absent: Envoy then only has the :authority (or Host) header.
  const host = http.host !== '' ? http.host : (headers[':authority'] ?? headers.host ?? '');

  let body: string | Uint8Array | undefined;
  if (http.rawBody.length > 0) body = http.rawBody;
  else if (http.body.length > 0) body = http.body;
  if (body !== undefined) {
    // A string body counts in UTF-8 bytes (what max_body_bytes means), not UTF-16 units.
    const size = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.length;
    if (size > maxBodyBytes) {
      throw new AuthzError('AUTHZ_BODY_TOO_LARGE', `request body exceeds ${maxBodyBytes} bytes`);
    }
  }
  const principal = req?.attributes?.source?.principal ?? '';
  return {
    method,
    path,
    host,
    scheme: http.scheme.toLowerCase(),
    query,
    headers,
    body,
    bodyPartial: headers['x-envoy-auth-partial-body'] === 'true',
    principal: principal.length > 0 ? principal : undefined,
  };
}
