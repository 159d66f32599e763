/**
 * Shape validation of one hop's header and claims (docs/tbit.md §3–§4). Rule checks that relate a hop to
 * its parent, to the clock or to limits live in rules.ts; this file answers "is this a well-formed hop?".
 */
import { assertInt, assertObject } from '../../lib/assert.js';
import type { TbitClaims, TbitHeader } from '../api.js';
import { failWith, TbitError } from '../errors.js';
import { parseSpiffeId } from '../spiffe-id.js';
import { assertEd25519PublicJwk, X32 } from './keys.js';
import { isScopePattern, MAX_SCOPE_ENTRIES } from './scope.js';

/** The `typ` every hop carries (RFC 8725 §3.11 explicit typing; RFC 7515 §4.1.9). */
export const TBIT_TYP = 'tbit+jwt';
/** Largest number of audience entries. */
export const MAX_AUD_ENTRIES = 16;
/** jti and task_id: 1..128 visible ASCII characters. */
const ID = /^[\x21-\x7e]{1,128}$/;
/** Latest NumericDate we accept (year 2286): keeps arithmetic exact and rejects nonsense. */
const MAX_TIME = 9_999_999_999;
const HEADER_MEMBERS = new Set(['alg', 'typ', 'kid']);
const CLAIMS = new Set([
  'iss',
  'sub',
  'aud',
  'iat',
  'nbf',
  'exp',
  'jti',
  'task_id',
  'tool_scope',
  'cnf',
  'par',
  'dep',
  'dmax',
]);

/** TBIT-level header check after the JWS layer's screen: `typ`, `kid`, and no other parameter. */
export function assertTbitHeader(h: Record<string, unknown>, hop?: number): TbitHeader {
  if (h.typ !== TBIT_TYP) {
    throw new TbitError('TBIT_TYP_REJECTED', `typ must be "${TBIT_TYP}", got ${JSON.stringify(h.typ)}`, hop);
  }
  if (typeof h.kid !== 'string' || h.kid.length === 0 || h.kid.length > 256) {
    throw new TbitError('TBIT_HEADER_REJECTED', 'kid must be a string of 1..256 characters', hop);
  }
  for (const k of Object.keys(h)) {
    if (!HEADER_MEMBERS.has(k))
      throw new TbitError('TBIT_HEADER_REJECTED', `unknown header parameter "${k}"`, hop);
  }
  return { alg: h.alg as TbitHeader['alg'], typ: TBIT_TYP, kid: h.kid };
}

function spiffe(v: unknown, what: string, hop?: number): string {
  try {
    return parseSpiffeId(v).id;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new TbitError('TBIT_INVALID_SPIFFE_ID', `${what}: ${msg}`, hop);
  }
}

/**
 * Validates the claim set of one hop and returns a typed copy with a fixed member order. Unknown claims are
 * rejected (fail closed: nothing the verifier does not understand can ride along).
 */
export function assertClaims(v: unknown, hop?: number): TbitClaims {
  const fail = failWith('TBIT_INVALID_CLAIM', hop);
  const o = assertObject(v, 'claims', (w) => new TbitError('TBIT_MALFORMED', w, hop));
  for (const k of Object.keys(o)) if (!CLAIMS.has(k)) throw fail(`unknown claim "${k}"`);
  const iss = spiffe(o.iss, 'iss', hop);
  const sub = spiffe(o.sub, 'sub', hop);
  let aud: string | string[];
  if (typeof o.aud === 'string') aud = spiffe(o.aud, 'aud', hop);
  else if (Array.isArray(o.aud) && o.aud.length >= 1 && o.aud.length <= MAX_AUD_ENTRIES) {
    aud = o.aud.map((a, i) => spiffe(a, `aud[${i}]`, hop));
  } else throw fail(`aud must be a SPIFFE ID or an array of 1..${MAX_AUD_ENTRIES} SPIFFE IDs`);
  const iat = assertInt(o.iat, 'iat', fail, 0, MAX_TIME);
  const nbf = assertInt(o.nbf, 'nbf', fail, 0, MAX_TIME);
  const exp = assertInt(o.exp, 'exp', fail, 0, MAX_TIME);
  if (exp <= iat) throw fail('exp must be after iat');
  if (nbf > exp) throw fail('nbf must not be after exp');
  if (typeof o.jti !== 'string' || !ID.test(o.jti)) throw fail('jti must be 1..128 visible ASCII characters');
  if (typeof o.task_id !== 'string' || !ID.test(o.task_id)) {
    throw fail('task_id must be 1..128 visible ASCII characters');
  }
  const ts = o.tool_scope;
  if (!Array.isArray(ts) || ts.length < 1 || ts.length > MAX_SCOPE_ENTRIES) {
    throw fail(`tool_scope must be an array of 1..${MAX_SCOPE_ENTRIES} patterns`);
  }
  for (const p of ts)
    if (!isScopePattern(p)) throw fail(`tool_scope has an invalid pattern ${JSON.stringify(p)}`);
  const dep = assertInt(o.dep, 'dep', fail, 1, 1000);
  const dmax = assertInt(o.dmax, 'dmax', fail, 1, 1000);
  const claims: TbitClaims = {
    iss,
    sub,
    aud,
    iat,
    nbf,
    exp,
    jti: o.jti,
    task_id: o.task_id,
    tool_scope: ts as string[],
    dep,
    dmax,
  };
  if (o.cnf !== undefined) {
    const cnf = assertObject(o.cnf, 'cnf', fail);
    for (const k of Object.keys(cnf)) if (k !== 'jwk') throw fail(`cnf may only hold "jwk", not "${k}"`);
    claims.cnf = { jwk: assertEd25519PublicJwk(cnf.jwk, 'cnf.jwk', fail) };
  }
  if (o.par !== undefined) {
    const par = o.par;
    // A SHA-256 digest is 32 bytes: the same canonical 43-character shape as an Ed25519 key.
    if (typeof par !== 'string' || !X32.test(par)) throw fail('par must be a base64url SHA-256 digest');
    claims.par = par as string;
  }
  return claims;
}
