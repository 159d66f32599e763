/**
 * Structural validation of a DecisionRecord (src/ledger/record.ts is the contract). Strict: unknown
 * keys are rejected so nothing unexpected (e.g. a raw token) can slip into the permanent log.
 */
import { assertArray, assertInt, assertObject, assertString } from '../../lib/assert.js';
import { LedgerError } from '../errors.js';
import type { DecisionRecord, RecordedHop } from '../record.js';

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
]);
const POP: ReadonlySet<unknown> = new Set(['verified', 'absent', 'rejected']);
/** Fields only a verified token can fill: never in an entry counting unauthenticated denies. */
const IDENTITY = ['sub', 'task_id', 'depth', 'chain', 'token_hash', 'pop'] as const;
/** Sample fields of an aggregate (its first deny's request): a dropped tally has no sample. */
const SAMPLE = ['method', 'host', 'path', 'peer', 'tool', 'policy_rev'] as const;
const HOP = new Set(['sub', 'iss', 'jti', 'tool_scope', 'exp']);

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
  if (o.v !== 1) throw fail('record.v must be 1');
  if (o.decision !== 'allow' && o.decision !== 'deny')
    throw fail('record.decision must be "allow" or "deny"');
  const out: DecisionRecord = {
    v: 1,
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
    return out;
  }
  return counted(o, out);
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
  } else {
    for (const k of ['window_ms', 'source', ...SAMPLE] as const)
      if (o[k] !== undefined) throw fail(`a record of kind dropped has no ${k}`);
  }
  return out;
}
