/**
 * uuid.* host builtins (OPA topdown/uuid.go, internal/uuid; parsing as github.com/google/uuid).
 *
 * `uuid.rfc4122(k)` returns a random version-4 UUID (RFC 4122 §4.4) that OPA memoises per query by the value
 * of `k`: the same key gives the same UUID within one evaluation, a new one in the next. The memo lives in
 * {@link BuiltinState.queryCache}, which the evaluator clears before every evaluation.
 */
import { randomBytes } from 'node:crypto';
import { regoString } from './go-value.js';
import { type BuiltinState, type HostBuiltin, rawJson } from './host.js';

declare module './host.js' {
  interface BuiltinState {
    /**
     * OPA's per-query builtin cache (BuiltinContext.Cache): values a builtin must repeat within one evaluation
     * (uuid.rfc4122). The evaluator clears it at the start of each evaluation; created on first use.
     */
    queryCache?: Map<string, unknown>;
  }
}

/** A random v4 UUID: version nibble 4, variant bits 10 (RFC 4122 §4.1.1, §4.1.3). */
function newUuid(): string {
  const b = randomBytes(16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * google/uuid Parse: 36-char canonical, `urn:uuid:…`, 38 chars with any wrapping pair (meant for `{…}`, not
 * checked), or 32 hex digits; the 16 bytes or undefined.
 */
function parseUuid(s: string): Buffer | undefined {
  let t = s;
  if (t.length === 45 && t.slice(0, 9).toLowerCase() === 'urn:uuid:') t = t.slice(9);
  else if (t.length === 38) t = t.slice(1, 37);
  if (t.length === 36) {
    if (t[8] !== '-' || t[13] !== '-' || t[18] !== '-' || t[23] !== '-') return undefined;
    t = t.slice(0, 8) + t.slice(9, 13) + t.slice(14, 18) + t.slice(19, 23) + t.slice(24);
  } else if (t.length !== 32) return undefined;
  return /^[0-9a-fA-F]{32}$/.test(t) ? Buffer.from(t, 'hex') : undefined;
}

/** RFC 4122 §4.1.1 variant names as google/uuid prints them. */
function variant(b8: number): string {
  if ((b8 & 0xc0) === 0x80) return 'RFC4122';
  if ((b8 & 0xe0) === 0xc0) return 'Microsoft';
  if ((b8 & 0xe0) === 0xe0) return 'Future';
  return 'Reserved';
}

/** The MAC address bits of a node id's first byte, as OPA names them (`macvariables`). */
function macVars(b: number): string {
  if ((b & 3) === 3) return 'local:multicast';
  if ((b & 1) === 1) return 'global:multicast';
  if ((b & 2) === 2) return 'local:unicast';
  return 'global:unicast';
}

/** 100-ns intervals between 1582-10-15 and 1970-01-01 (RFC 4122 §4.1.4). */
const GREGORIAN_OFFSET = 122192928000000000n;

/** uuid.parse's object: version and variant; time, node, MAC bits and clock sequence for v1/v2; id and domain for v2. */
function describe(s: string): unknown {
  const b = parseUuid(s);
  if (!b) return undefined;
  const version = b[6]! >> 4;
  const parts = [`"version":${version}`, `"variant":"${variant(b[8]!)}"`];
  if (version === 1 || version === 2) {
    const t =
      BigInt(b.readUInt32BE(0)) |
      (BigInt(b.readUInt16BE(4)) << 32n) |
      (BigInt(b.readUInt16BE(6) & 0xfff) << 48n);
    const d = t - GREGORIAN_OFFSET; // Go's / and % truncate toward zero, as BigInt's do
    const ns = (d / 10_000_000n) * 1_000_000_000n + (d % 10_000_000n) * 100n;
    parts.push(
      `"time":${ns}`,
      `"macvariables":"${macVars(b[10]!)}"`,
      `"nodeid":"${b
        .subarray(10)
        .toString('hex')
        .replace(/..(?!$)/g, '$&-')}"`,
      `"clocksequence":${b.readUInt16BE(8) & 0x3fff}`,
    );
    if (version === 2) {
      const domain = ['Person', 'Group', 'Org'][b[9]!] ?? `Domain${b[9]}`;
      parts.push(`"id":${b.readUInt32BE(0)}`, `"domain":"${domain}"`);
    }
  }
  return rawJson(`{${parts.join(',')}}`); // the time can exceed 2^53
}

/** uuid.rfc4122, uuid.parse. */
export function uuidBuiltins(state: BuiltinState): Record<string, HostBuiltin> {
  return {
    'uuid.rfc4122': (k: unknown) => {
      state.queryCache ??= new Map();
      const key = `uuid.rfc4122:${regoString(k)}`;
      let u = state.queryCache.get(key) as string | undefined;
      if (u === undefined) {
        u = newUuid();
        state.queryCache.set(key, u);
      }
      return u;
    },
    'uuid.parse': (s: unknown) => (typeof s === 'string' ? describe(s) : undefined),
  };
}
