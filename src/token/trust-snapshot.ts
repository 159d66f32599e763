/**
 * Trust snapshots: a trust store's keys, bindings and revocations as plain, structured-cloneable data, so a
 * Check worker process can decide with exactly the primary's trust (docs/workers.md §2). {@link snapshotTrust}
 * takes one; {@link parseTrustSnapshot} validates one received from another process before anything uses it.
 */
import { assertArray, assertInt, assertObject, assertString } from '../lib/assert.js';
import type { ReplicableTrustStore, TrustSnapshot, TrustSnapshotKey, TrustSnapshotSource } from './api.js';
import { failWith } from './errors.js';
import { X32 } from './lib/keys.js';

/** The snapshot format tag this build reads and writes. */
export const TRUST_SNAPSHOT_FORMAT = 'sigil.trust/1';

/**
 * Bounds of a snapshot. Each is at least the source's own bound (docs/tbit.md §8: 1000 keys per JWKS, 1 000 000
 * revoked ids per list), so any state a primary can hold also passes here; a refused snapshot would otherwise
 * strand a worker on older trust.
 */
const MAX_SOURCES = 1024;
const MAX_KEYS = 1000;
const MAX_IDS = 16_000_000;
const MAX_ID_CHARS = 65_536;

const invalid = failWith('TBIT_TRUST_SNAPSHOT_INVALID');

/** The state `store` has in force now (docs/workers.md §2). */
export function snapshotTrust(store: ReplicableTrustStore): TrustSnapshot {
  return store.snapshot();
}

function parseKey(v: unknown, what: string): TrustSnapshotKey {
  const o = assertObject(v, what, invalid);
  const kid = assertString(o.kid, `${what}.kid`, invalid, MAX_ID_CHARS);
  const x = assertString(o.x, `${what}.x`, invalid, 43, 43);
  if (!X32.test(x)) throw invalid(`${what}.x must be 32 bytes of base64url`);
  if (o.notAfterMs === undefined) return { kid, x };
  return { kid, x, notAfterMs: assertInt(o.notAfterMs, `${what}.notAfterMs`, invalid) };
}

/**
 * An array of 1..MAX_ID_CHARS-character strings, returned as is. A plain loop that builds no message unless an item
 * fails: revocation lists run to 10⁶ ids.
 */
function parseStrings(v: unknown, what: string, max: number, min = 0): string[] {
  if (!Array.isArray(v)) throw invalid(`${what} must be an array`);
  if (v.length < min || v.length > max) throw invalid(`${what} must have ${min}..${max} items`);
  for (let i = 0; i < v.length; i++) {
    const s: unknown = v[i];
    if (typeof s !== 'string' || s.length === 0 || s.length > MAX_ID_CHARS) {
      throw invalid(`${what}[${i}] must be a string of 1..${MAX_ID_CHARS} characters`);
    }
  }
  return v as string[];
}

function parseSource(v: unknown, what: string): TrustSnapshotSource {
  const o = assertObject(v, what, invalid);
  const keys = assertArray(
    o.keys,
    `${what}.keys`,
    invalid,
    (k, i) => parseKey(k, `${what}.keys[${i}]`),
    MAX_KEYS,
  );
  const kids = new Set(keys.map((k) => k.kid));
  if (kids.size !== keys.length) throw invalid(`${what}.keys repeats a kid`);
  return {
    // Bindings are checked for shape here and for meaning (SPIFFE IDs, trust domain names) by the mirror.
    issuers: parseStrings(o.issuers, `${what}.issuers`, MAX_KEYS, 1),
    trustDomains: parseStrings(o.trustDomains, `${what}.trustDomains`, MAX_KEYS, 1),
    keys,
  };
}

/**
 * Validates a snapshot received from another process and returns a clean copy (unknown members dropped). Throws
 * TBIT_TRUST_SNAPSHOT_INVALID naming the first bad member.
 */
export function parseTrustSnapshot(v: unknown): TrustSnapshot {
  const o = assertObject(v, 'trust snapshot', invalid);
  if (o.format !== TRUST_SNAPSHOT_FORMAT)
    throw invalid(`trust snapshot format must be ${TRUST_SNAPSHOT_FORMAT}`);
  const version = assertInt(o.version, 'trust snapshot version', invalid);
  const r = assertObject(o.revoked, 'trust snapshot revoked', invalid);
  if (typeof r.all !== 'boolean') throw invalid('trust snapshot revoked.all must be a boolean');
  return {
    format: TRUST_SNAPSHOT_FORMAT,
    version,
    ...(o.own === undefined ? {} : { own: parseSource(o.own, 'trust snapshot own') }),
    sources: assertArray(
      o.sources,
      'trust snapshot sources',
      invalid,
      (s, i) => parseSource(s, `trust snapshot sources[${i}]`),
      MAX_SOURCES,
    ),
    revoked: {
      jtis: parseStrings(r.jtis, 'trust snapshot revoked.jtis', MAX_IDS),
      tasks: parseStrings(r.tasks, 'trust snapshot revoked.tasks', MAX_IDS),
      all: r.all,
    },
  };
}
