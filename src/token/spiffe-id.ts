/**
 * SPIFFE ID parsing per the SPIFFE ID specification (spiffe/spiffe standards/SPIFFE-ID.md):
 * §2 scheme `spiffe`, §2.1 trust domain charset, §2.2 path segment rules, §2.3 maximum length.
 * Strict by design: the spec's restrictions exist so that two different strings never name the same workload.
 */
import { LRUCache } from 'lru-cache';
import { TbitError } from './errors.js';

/** A validated SPIFFE ID. */
export interface SpiffeId {
  /** The ID exactly as given (already canonical: the parser accepts only canonical forms). */
  readonly id: string;
  /** Trust domain name, e.g. `sigil.mesh`. */
  readonly trustDomain: string;
  /** Path including its leading `/`, or `''` for a trust-domain ID. */
  readonly path: string;
  /** Path segments (empty for a trust-domain ID). */
  readonly segments: readonly string[];
}

const PREFIX = 'spiffe://';
/** §2.1: lowercase letters, digits, `.`, `-`, `_`. */
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
/** §2.2: letters, digits, `.`, `-`, `_`. */
const SEGMENT = /^[A-Za-z0-9._-]+$/;
/** §2.3: URIs longer than 2048 bytes are not SPIFFE IDs. All accepted characters are ASCII, so chars = bytes. */
const MAX_ID_BYTES = 2048;
/** §2.3: the trust domain is the URI host, at most 255 bytes (RFC 3986 §3.2.2); also our config's limit. */
const MAX_TRUST_DOMAIN = 255;

function bad(s: unknown, why: string): TbitError {
  const shown = typeof s === 'string' ? JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s) : typeof s;
  return new TbitError('TBIT_INVALID_SPIFFE_ID', `invalid SPIFFE ID ${shown}: ${why}`);
}

/**
 * Parses and validates a SPIFFE ID; throws `TbitError('TBIT_INVALID_SPIFFE_ID')` naming the broken rule.
 * Rejects upper-case schemes/trust domains, ports, userinfo, query, fragment, percent-encoding, empty,
 * `.` and `..` segments and trailing slashes (SPIFFE-ID.md §2.1–§2.3).
 */
export function parseSpiffeId(s: unknown): SpiffeId {
  if (typeof s !== 'string') throw bad(s, 'must be a string');
  const hit = valid.get(s);
  if (hit !== undefined) return hit;
  const id = parseUncached(s);
  valid.set(s, id);
  return id;
}

/**
 * IDs already accepted. Parsing is pure, and a sidecar sees the same few agent IDs on every request, so the
 * hot path skips the regexes for them. Only successes are kept; the LRU bound stops an attacker's stream of
 * fresh IDs from growing memory.
 */
const valid = new LRUCache<string, SpiffeId>({ max: 4096 });

function parseUncached(s: string): SpiffeId {
  if (s.length > MAX_ID_BYTES) throw bad(s, `longer than ${MAX_ID_BYTES} bytes (§2.3)`);
  if (!s.startsWith(PREFIX)) throw bad(s, 'scheme must be "spiffe://" in lower case (§2)');
  const rest = s.slice(PREFIX.length);
  const slash = rest.indexOf('/');
  const td = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash);
  if (td.length === 0) throw bad(s, 'trust domain is empty (§2.1)');
  if (td.length > MAX_TRUST_DOMAIN) throw bad(s, `trust domain longer than ${MAX_TRUST_DOMAIN} characters`);
  // This one regex also rules out ports (':'), userinfo ('@'), upper case and percent-encoding (§2.1).
  if (!TRUST_DOMAIN.test(td)) throw bad(s, 'trust domain may hold only [a-z0-9._-] (§2.1)');
  if (path === '') return Object.freeze({ id: s, trustDomain: td, path, segments: Object.freeze([]) });
  const segments = path.slice(1).split('/');
  for (const seg of segments) {
    if (seg.length === 0) throw bad(s, 'path has an empty segment or a trailing slash (§2.2)');
    if (seg === '.' || seg === '..') throw bad(s, 'path has a "." or ".." segment (§2.2)');
    // Also rules out '?', '#', '%' (query, fragment, percent-encoding).
    if (!SEGMENT.test(seg)) throw bad(s, 'path segments may hold only [A-Za-z0-9._-] (§2.2)');
  }
  return Object.freeze({ id: s, trustDomain: td, path, segments: Object.freeze(segments) });
}
