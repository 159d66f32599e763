/**
 * Step 1: the bearer token. With the default `authorization` header the value must be
 * `Bearer <b64token>` (RFC 6750 §2.1); a custom header may carry the bare token or the same form.
 */
import { AuthzError } from './errors.js';
import type { RequestView } from './extract-request.js';

/** RFC 6750 §2.1 b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const BEARER = /^bearer +/i;

/** Returns the token string, or throws AUTHZ_NO_TOKEN / AUTHZ_BAD_AUTH_HEADER. */
export function extractToken(view: RequestView, header: string): string {
  const raw = view.headers[header];
  if (raw === undefined || raw.trim() === '') throw new AuthzError('AUTHZ_NO_TOKEN', `no token in ${header}`);
  const bearer = BEARER.test(raw);
  if (!bearer && header === 'authorization') {
    throw new AuthzError('AUTHZ_BAD_AUTH_HEADER', 'authorization scheme must be Bearer');
  }
  const token = (bearer ? raw.replace(BEARER, '') : raw).trim();
  // A repeated header arrives comma-joined, which is not a b64token: refuse rather than pick one.
  if (!B64TOKEN.test(token))
    throw new AuthzError('AUTHZ_BAD_AUTH_HEADER', `${header} does not hold one bearer token`);
  return token;
}
