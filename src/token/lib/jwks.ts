/** JWKS and revocation-list parsing for the trust store (RFC 7517 §5, docs/tbit.md §8). */
import type { KeyObject } from 'node:crypto';
import { TbitError } from '../errors.js';
import { ACCEPTED_ALGS } from './jws.js';
import { assertEd25519PublicJwk, importEd25519 } from './keys.js';

/** A JSON Web Key Set as published at `/.well-known/jwks.json`. Extra members are allowed (RFC 7517 §5). */
export interface JsonWebKeySet {
  keys: Record<string, unknown>[];
  /** SIGIL extension carried in trust bundles: the issuer's revocation list. */
  revocations?: RevocationList;
}

/**
 * Revoked task ids and token ids: bare ids, or `{id, …}` entries as a sidecar's own revocation list
 * (`<data_dir>/revocations.json`, `GET /v1/revocations`, docs/keys.md §Revocation) writes them, so one sidecar
 * can use another's list as a trust source.
 */
export interface RevocationList {
  tasks: Array<string | { id: string }>;
  jtis: Array<string | { id: string }>;
}

const MAX_KEYS = 1000;
const MAX_REVOCATIONS = 1_000_000;

function invalid(why: string): TbitError {
  return new TbitError('TBIT_TRUST_BUNDLE_INVALID', `trust bundle: ${why}`);
}

/**
 * Imports the Ed25519 signing keys of a JWKS by kid. Keys of other types, or marked for another use or
 * algorithm, are skipped (a mixed JWKS stays usable). Rejects the whole set when it is malformed, holds a
 * private key (`d`: publishing one is an incident, not something to paper over) or repeats a kid.
 */
export function importJwks(v: unknown): Map<string, KeyObject> {
  if (typeof v !== 'object' || v === null || !Array.isArray((v as { keys?: unknown }).keys)) {
    throw invalid('not a JWKS ({"keys": [...]})');
  }
  const keys = (v as { keys: unknown[] }).keys;
  if (keys.length > MAX_KEYS) throw invalid(`more than ${MAX_KEYS} keys`);
  const out = new Map<string, KeyObject>();
  for (const k of keys) {
    if (typeof k !== 'object' || k === null || Array.isArray(k)) throw invalid('a key is not an object');
    const jwk = k as Record<string, unknown>;
    if ('d' in jwk) throw invalid('the JWKS holds a private key');
    if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519') continue;
    if (jwk.use !== undefined && jwk.use !== 'sig') continue;
    if (jwk.alg !== undefined && !(typeof jwk.alg === 'string' && ACCEPTED_ALGS.has(jwk.alg))) continue;
    if (typeof jwk.kid !== 'string' || jwk.kid.length === 0) throw invalid('an Ed25519 key has no kid');
    if (out.has(jwk.kid)) throw invalid(`kid ${jwk.kid} appears twice`);
    const pub = assertEd25519PublicJwk({ kty: jwk.kty, crv: jwk.crv, x: jwk.x }, `key ${jwk.kid}`, invalid);
    try {
      out.set(jwk.kid, importEd25519(pub.x));
    } catch (e) {
      throw new TbitError('TBIT_TRUST_BUNDLE_INVALID', `key ${jwk.kid} cannot be imported`, undefined, e);
    }
  }
  return out;
}

/** Validates a revocation list (missing = nothing revoked). */
export function parseRevocations(v: unknown): { tasks: Set<string>; jtis: Set<string> } {
  if (v === undefined || v === null) return { tasks: new Set(), jtis: new Set() };
  if (typeof v !== 'object' || Array.isArray(v)) throw invalid('revocations must be {tasks: [], jtis: []}');
  const o = v as Record<string, unknown>;
  const idOf = (e: unknown): string | undefined =>
    typeof e === 'string'
      ? e
      : typeof e === 'object' && e !== null && typeof (e as { id?: unknown }).id === 'string'
        ? (e as { id: string }).id
        : undefined;
  const list = (x: unknown, what: string): Set<string> => {
    if (x === undefined) return new Set();
    if (!Array.isArray(x) || x.length > MAX_REVOCATIONS)
      throw invalid(`revocations.${what} must be an array of ids or {id} entries`);
    const ids = new Set<string>();
    for (const e of x) {
      const id = idOf(e);
      // Fail closed: one unreadable entry refuses the whole update (the last good list stays in force).
      if (id === undefined || id === '')
        throw invalid(`revocations.${what} must be an array of ids or {id} entries`);
      ids.add(id);
    }
    return ids;
  };
  return { tasks: list(o.tasks, 'tasks'), jtis: list(o.jtis, 'jtis') };
}
