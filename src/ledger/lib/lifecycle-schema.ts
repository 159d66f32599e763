/**
 * Validation and canonical JSON of lifecycle entries (src/ledger/record.ts, docs/ledger.md §4 "Lifecycle
 * entries"). One field table per kind; unknown fields are refused, hashes and key ids must have their exact
 * shape, and no string may look like a JWS, so a token or key cannot slip into the permanent log.
 */
import { assertArray, assertInt, assertObject, assertString } from '../../lib/assert.js';
import { canonicalJson } from '../../lib/lifecycle-event.js';
import { LedgerError } from '../errors.js';
import {
  type DecisionRecord,
  type LedgerRecord,
  LIFECYCLE_KINDS,
  type LifecycleKind,
  type LifecycleRecord,
} from '../record.js';
import { recordJson } from './record-json.js';
import { validateRecord } from './record-schema.js';

const fail = (what: string): LedgerError => new LedgerError('LEDGER_RECORD_INVALID', what);

/** base64url SHA-256 (token hashes), RFC 7638 Ed25519 thumbprints: 43 base64url characters. */
const B64_HASH = /^[A-Za-z0-9_-]{43}$/;
const HEX_HASH = /^[0-9a-f]{64}$/;
/** A compact JWS (`eyJ…` header, payload, signature) anywhere in a string: a token, refused in any field. */
const JWS_LIKE = /eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*\.?/;

/** Field types: a string up to N chars, one of a set, a hash shape, an integer, a boolean, a string list. */
type FieldType =
  | { t: 'str'; max: number }
  | { t: 'enum'; of: readonly string[] }
  | { t: 'b64' }
  | { t: 'hex' }
  | { t: 'int'; min?: number; max?: number }
  | { t: 'bool' }
  | { t: 'strs'; max: number };

/** `?` suffix = optional. */
type Fields = Record<string, FieldType>;

const str = (max: number): FieldType => ({ t: 'str', max });
const strs = (max = 64): FieldType => ({ t: 'strs', max });
const int = (min = 0, max?: number): FieldType => ({ t: 'int', min, ...(max !== undefined ? { max } : {}) });
const oneOf = (...of: string[]): FieldType => ({ t: 'enum', of });
const B64: FieldType = { t: 'b64' };
const HEX: FieldType = { t: 'hex' };
const OPERATOR_VIA = oneOf('http', 'grpc', 'cli');
const KEY: Fields = {
  via: oneOf('http', 'grpc', 'cli', 'serve'),
  key_type: oneOf('issuer', 'agent'),
  kid: B64,
  thumbprint: B64,
  alg: oneOf('EdDSA'),
  'sub?': str(2048),
};
const SIDECAR: Fields = { version: str(64), config_hash: HEX };

/** The fields of each kind besides `v`, `id`, `ts`, `kind` (docs/ledger.md §4 table). */
const SCHEMA: Record<LifecycleKind, Fields> = {
  'token.mint': {
    via: OPERATOR_VIA,
    iss: str(2048),
    sub: str(2048),
    task_id: str(256),
    tool_scope: strs(),
    aud: strs(16),
    jti: str(256),
    exp: int(),
    ttl: int(1),
    kid: str(256),
    token_hash: B64,
  },
  'token.delegate': {
    via: OPERATOR_VIA,
    sub: str(2048),
    parent_sub: str(2048),
    task_id: str(256),
    tool_scope: strs(),
    jti: str(256),
    exp: int(),
    depth: int(1, 64),
    kid: str(256),
    parent_hash: B64,
    token_hash: B64,
  },
  'token.revoke': { via: OPERATOR_VIA, 'task_id?': str(256), 'jti?': str(256), already: { t: 'bool' } },
  'key.create': KEY,
  'key.rotate': { ...KEY, 'prev_kid?': B64 },
  'key.retire': KEY,
  'trust.update': { source: str(2048), hash: HEX, kids: strs(1024), 'revoked?': int() },
  'policy.activate': {
    source: str(2048),
    revision: str(1024),
    bundle_hash: HEX,
    'prev_revision?': str(1024),
  },
  'sidecar.start': SIDECAR,
  'sidecar.stop': SIDECAR,
};

/** Per kind: field name → [type, optional], with the common fields. */
const TABLE = new Map(
  LIFECYCLE_KINDS.map((k) => {
    const m = new Map<string, [FieldType, boolean]>();
    for (const [name, type] of Object.entries(SCHEMA[k])) {
      const optional = name.endsWith('?');
      m.set(optional ? name.slice(0, -1) : name, [type, optional]);
    }
    return [k as string, m] as const;
  }),
);

/** True when `kind` names a lifecycle entry kind. */
export function isLifecycleKind(kind: unknown): kind is LifecycleKind {
  return typeof kind === 'string' && TABLE.has(kind);
}

function text(v: unknown, what: string, max: number): string {
  const s = assertString(v, what, fail, max);
  if (JWS_LIKE.test(s)) throw fail(`${what} looks like a token: only its hash may be recorded`);
  return s;
}

function field(v: unknown, type: FieldType, what: string): unknown {
  switch (type.t) {
    case 'str':
      return text(v, what, type.max);
    case 'enum':
      if (typeof v !== 'string' || !type.of.includes(v))
        throw fail(`${what} must be one of ${type.of.join(', ')}`);
      return v;
    case 'b64':
      if (typeof v !== 'string' || !B64_HASH.test(v)) throw fail(`${what} must be 43 base64url characters`);
      return v;
    case 'hex':
      if (typeof v !== 'string' || !HEX_HASH.test(v)) throw fail(`${what} must be 64 lowercase hex digits`);
      return v;
    case 'int':
      return assertInt(v, what, fail, type.min, type.max);
    case 'bool':
      if (typeof v !== 'boolean') throw fail(`${what} must be a boolean`);
      return v;
    case 'strs':
      return assertArray(v, what, fail, (x, i) => text(x, `${what}[${i}]`, 2048), type.max);
  }
}

/**
 * Returns a clean copy of `o` if it is a valid lifecycle entry, else throws `LEDGER_RECORD_INVALID`.
 * `o` is a plain object whose `kind` {@link isLifecycleKind} accepted.
 */
export function validateLifecycle(o: Record<string, unknown>): LifecycleRecord {
  const fields = TABLE.get(o.kind as string);
  if (fields === undefined) throw fail('record.kind is not a lifecycle kind');
  if (o.v !== 1) throw fail('record.v must be 1');
  const out: Record<string, unknown> = {
    v: 1,
    kind: o.kind,
    id: text(o.id, 'record.id', 256),
    ts: assertInt(o.ts, 'record.ts', fail),
  };
  // for-in also walks inherited enumerable keys: a polluted Object.prototype fails every record (closed).
  for (const k in o) {
    if (!(k in out) && !fields.has(k)) throw fail(`a record of kind ${o.kind} has unknown field "${k}"`);
  }
  for (const [name, [type, optional]] of fields) {
    if (o[name] === undefined) {
      if (!optional) throw fail(`a record of kind ${o.kind} needs record.${name}`);
    } else out[name] = field(o[name], type, `record.${name}`);
  }
  if (o.kind === 'token.revoke' && (out.task_id === undefined) === (out.jti === undefined))
    throw fail('a record of kind token.revoke has exactly one of task_id, jti');
  if (o.kind === 'key.create' || o.kind === 'key.rotate' || o.kind === 'key.retire') {
    if ((out.key_type === 'agent') !== (out.sub !== undefined))
      throw fail(`record.sub is required for agent keys and absent for issuer keys`);
  }
  return out as unknown as LifecycleRecord;
}

/** Canonical JSON (sorted keys, no whitespace; docs/ledger.md §4) of a validated lifecycle entry. */
export function lifecycleJson(r: LifecycleRecord): string {
  return canonicalJson(r);
}

/** Validates any ledger record: a lifecycle entry by its `kind`, else a decision (validateRecord). */
export function validateEntry(x: unknown): LedgerRecord {
  const o = assertObject(x, 'record', fail);
  return isLifecycleKind(o.kind) ? validateLifecycle(o) : validateRecord(o);
}

/** Canonical JSON of a validated ledger record. */
export function entryJson(r: LedgerRecord): string {
  return isLifecycleKind(r.kind) ? lifecycleJson(r as LifecycleRecord) : recordJson(r as DecisionRecord);
}
