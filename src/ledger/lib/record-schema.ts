/**
 * Structural validation of a DecisionRecord (src/ledger/record.ts is the contract). Strict: unknown
 * keys are rejected so nothing unexpected (e.g. a raw token) can slip into the permanent log.
 */
import { assertArray, assertInt, assertObject, assertString } from '../../lib/assert.js';
import { LedgerError } from '../errors.js';
import {
  type ClaimedIdentityRecord,
  type ClaimedTally,
  type DecisionRecord,
  MAX_CLAIMED_PER_AGGREGATE,
  type RecordedHop,
} from '../record.js';

const fail = (what: string): LedgerError => new LedgerError('LEDGER_RECORD_INVALID', what);

const OPTIONAL = [
  'sub',
  'task_id',
  'tool',
  'method',
  'host',
  'path',
  'peer',
  'token_hash',
  'policy_rev',
] as const;
/** Fields of the entries that count unauthenticated denies (docs/ledger.md §4 "Entry kinds"). */
const COUNTED = ['kind', 'count', 'last_ts', 'window_ms', 'source'] as const;
const TOP = new Set([
  'v',
  'id',
  'ts',
  'decision',
  'code',
  'http_status',
  'depth',
  'chain',
  ...OPTIONAL,
  ...COUNTED,
  'pop',
  'claimed',
  'claimed_other',
]);
const POP: ReadonlySet<unknown> = new Set(['verified', 'absent', 'rejected']);
/** Fields only a verified token can fill: never in an entry counting unauthenticated denies. */
const IDENTITY = ['sub', 'task_id', 'depth', 'chain', 'token_hash', 'pop'] as const;
/** Sample fields of an aggregate (its first deny's request): a dropped tally has no sample. */
const SAMPLE = ['method', 'host', 'path', 'peer', 'tool', 'policy_rev'] as const;
const HOP = new Set(['sub', 'iss', 'jti', 'tool_scope', 'exp']);
const CLAIMED = new Set(['verified', 'sub', 'task_id', 'kid', 'iss']);
const TALLY = new Set([...CLAIMED, 'count']);
/** A claimed SPIFFE ID (`sub`, `iss`): visible ASCII after the scheme, ≤ 512 characters (token module's cap). */
const CLAIMED_SPIFFE = /^spiffe:\/\/[\x21-\x7e]{1,503}$/;
/** A claimed `task_id` or `kid`: 1..128 visible ASCII characters. */
const CLAIMED_ID = /^[\x21-\x7e]{1,128}$/;
/** A compact JWS inside a string: a token is never recorded, only its hash (as in lifecycle entries). */
const JWS_LIKE = /eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*\.?/;

// Every Check's record passes through here: field labels are built once, not per call (they only
// appear in error messages), and keys are walked with for-in, which allocates no key array.

/** `record.<k>` for each optional string field. */
const LABEL = Object.fromEntries(OPTIONAL.map((k) => [k, `record.${k}`])) as Record<
  (typeof OPTIONAL)[number],
  string
>;

/** Labels of hop `i`'s fields, made on first use (a chain has at most 64 hops). */
const hopLabels: Array<Record<'hop' | 'sub' | 'iss' | 'jti' | 'tool_scope' | 'exp', string>> = [];
function labelsOf(i: number): (typeof hopLabels)[number] {
  let l = hopLabels[i];
  if (l === undefined) {
    const h = `chain[${i}]`;
    l = {
      hop: h,
      sub: `${h}.sub`,
      iss: `${h}.iss`,
      jti: `${h}.jti`,
      tool_scope: `${h}.tool_scope`,
      exp: `${h}.exp`,
    };
    if (i < 64) hopLabels[i] = l;
  }
  return l;
}

function onlyKeys(o: Record<string, unknown>, allowed: Set<string>, what: string): void {
  // for-in also walks inherited enumerable keys: a polluted Object.prototype fails every record (closed).
  for (const k in o) if (!allowed.has(k)) throw fail(`${what} has unknown field "${k}"`);
}

function hop(x: unknown, i: number): RecordedHop {
  const l = labelsOf(i);
  const o = assertObject(x, l.hop, fail);
  onlyKeys(o, HOP, l.hop);
  return {
    sub: assertString(o.sub, l.sub, fail, 2048),
    iss: assertString(o.iss, l.iss, fail, 2048),
    jti: assertString(o.jti, l.jti, fail, 256),
    tool_scope: assertArray(o.tool_scope, l.tool_scope, fail, (t, j) =>
      assertString(t, `${l.tool_scope}[${j}]`, fail, 256),
    ),
    exp: assertInt(o.exp, l.exp, fail),
  };
}

/** Returns a clean copy of `x` if it is a valid DecisionRecord, else throws `LEDGER_RECORD_INVALID`. */
export function validateRecord(x: unknown): DecisionRecord {
  const o = assertObject(x, 'record', fail);
  onlyKeys(o, TOP, 'record');
  // Version 2 = version 1 plus the claimed fields, and only with them (docs/ledger.md §4 "Claimed identities").
  const claims = o.claimed !== undefined || o.claimed_other !== undefined;
  if (o.v !== (claims ? 2 : 1)) throw fail(claims ? 'record.claimed needs record.v 2' : 'record.v must be 1');
  if (o.decision !== 'allow' && o.decision !== 'deny')
    throw fail('record.decision must be "allow" or "deny"');
  const out: DecisionRecord = {
    v: claims ? 2 : 1,
    id: assertString(o.id, 'record.id', fail, 256),
    ts: assertInt(o.ts, 'record.ts', fail),
    decision: o.decision,
    code: assertString(o.code, 'record.code', fail, 128),
    http_status: assertInt(o.http_status, 'record.http_status', fail, 100, 599),
  };
  for (const k of OPTIONAL) {
    if (o[k] !== undefined) out[k] = assertString(o[k], LABEL[k], fail, k === 'path' ? 8192 : 2048, 0);
  }
  if (o.depth !== undefined) out.depth = assertInt(o.depth, 'record.depth', fail, 0, 64);
  if (o.chain !== undefined) out.chain = assertArray(o.chain, 'record.chain', fail, hop, 64);
  if (o.pop !== undefined) {
    if (!POP.has(o.pop)) throw fail('record.pop must be "verified", "absent" or "rejected"');
    out.pop = o.pop as NonNullable<DecisionRecord['pop']>;
  }
  if (o.kind === undefined) {
    for (const k of COUNTED) if (o[k] !== undefined) throw fail(`record.${k} needs record.kind`);
    if (claims) claimedSingle(o, out);
    return out;
  }
  return counted(o, out);
}

/** A claimed identity's fields (shared by the single object and each aggregate tally); throws if none. */
function claimedFields(o: Record<string, unknown>, what: string, into: ClaimedIdentityRecord): void {
  if (o.verified !== false) throw fail(`${what}.verified must be false`);
  for (const k of ['sub', 'iss', 'task_id', 'kid'] as const) {
    const v = o[k];
    if (v === undefined) continue;
    const re = k === 'sub' || k === 'iss' ? CLAIMED_SPIFFE : CLAIMED_ID;
    if (typeof v !== 'string' || !re.test(v) || JWS_LIKE.test(v))
      throw fail(`${what}.${k} is not a well-formed claimed ${k}`);
    into[k] = v;
  }
  if (
    into.sub === undefined &&
    into.task_id === undefined &&
    into.kid === undefined &&
    into.iss === undefined
  )
    throw fail(`${what} claims nothing`);
}

/** `claimed` of one deny decided before its token verified: an object, and no verified identity beside it. */
function claimedSingle(o: Record<string, unknown>, out: DecisionRecord): void {
  if (out.decision !== 'deny') throw fail('record.claimed is only for denies');
  if (o.claimed_other !== undefined) throw fail('record.claimed_other is only for aggregates');
  for (const k of IDENTITY) if (o[k] !== undefined) throw fail(`a record with claimed has no ${k}`);
  const c = assertObject(o.claimed, 'record.claimed', fail);
  onlyKeys(c, CLAIMED, 'record.claimed');
  const r: ClaimedIdentityRecord = { verified: false };
  claimedFields(c, 'record.claimed', r);
  out.claimed = r;
}

/** `claimed` of an aggregate: 1..8 distinct tallies, and `claimed_other`; all counts within `count`. */
function claimedTallies(o: Record<string, unknown>, out: DecisionRecord & { count: number }): void {
  const seen = new Set<string>();
  let sum = 0;
  const list = assertArray(
    o.claimed,
    'record.claimed',
    fail,
    (x, i): ClaimedTally => {
      const what = `record.claimed[${i}]`;
      const c = assertObject(x, what, fail);
      onlyKeys(c, TALLY, what);
      const t: ClaimedTally = { count: assertInt(c.count, `${what}.count`, fail, 1), verified: false };
      claimedFields(c, what, t);
      const key = JSON.stringify([t.sub ?? null, t.task_id ?? null, t.kid ?? null, t.iss ?? null]);
      if (seen.has(key)) throw fail(`${what} repeats a claimed identity`);
      seen.add(key);
      sum += t.count;
      return t;
    },
    MAX_CLAIMED_PER_AGGREGATE,
  );
  if (list.length === 0) throw fail('record.claimed must not be empty');
  out.claimed = list;
  if (o.claimed_other !== undefined) {
    if (list.length < MAX_CLAIMED_PER_AGGREGATE)
      throw fail('record.claimed_other needs a full record.claimed');
    out.claimed_other = assertInt(o.claimed_other, 'record.claimed_other', fail, 1);
    sum += out.claimed_other;
  }
  if (sum > out.count) throw fail('record.claimed counts exceed record.count');
}

/**
 * The rest of an `aggregate` or `dropped` entry: a deny count with first (`ts`) and last time, no identity
 * fields; an aggregate also has its window and source, a dropped tally neither, nor a sample.
 */
function counted(o: Record<string, unknown>, out: DecisionRecord): DecisionRecord {
  if (o.kind !== 'aggregate' && o.kind !== 'dropped')
    throw fail('record.kind must be "aggregate" or "dropped"');
  if (out.decision !== 'deny') throw fail(`a record of kind ${o.kind} must be a deny`);
  for (const k of IDENTITY) if (o[k] !== undefined) throw fail(`a record of kind ${o.kind} has no ${k}`);
  out.kind = o.kind;
  out.count = assertInt(o.count, 'record.count', fail, 1);
  out.last_ts = assertInt(o.last_ts, 'record.last_ts', fail, out.ts);
  if (o.kind === 'aggregate') {
    out.window_ms = assertInt(o.window_ms, 'record.window_ms', fail, 1, 86_400_000);
    out.source = assertString(o.source, 'record.source', fail, 256);
    if (o.claimed !== undefined || o.claimed_other !== undefined)
      claimedTallies(o, out as DecisionRecord & { count: number });
  } else {
    for (const k of ['window_ms', 'source', 'claimed', 'claimed_other', ...SAMPLE] as const)
      if (o[k] !== undefined) throw fail(`a record of kind dropped has no ${k}`);
  }
  return out;
}
