/**
 * Lifecycle entries (docs/ledger.md §4 "Lifecycle entries", issue #20): one valid example per kind, what each
 * schema refuses, canonical encoding, and queries by kind over a real LMDB log (also after reopen, when the
 * postings are re-derived from the entries).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  decodeEntry,
  decodeRecord,
  encodeEntry,
  LedgerError,
  LIFECYCLE_KINDS,
  type LifecycleRecord,
  MerkleLog,
} from '../../src/ledger/index.js';
import { verifyLog } from '../../src/ledger/verify-log.js';
import { canonicalJson } from './canonical-json.js';
import { record, tempDir } from './helpers.js';
import { EXAMPLES, H43 } from './lifecycle-examples.js';

const TOKEN =
  'eyJhbGciOiJFZERTQSIsImtpZCI6IngiLCJ0eXAiOiJ0Yml0K2p3dCJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl';

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof LedgerError ? e.code : `not a LedgerError: ${String(e)}`;
  }
  return undefined;
}

describe('lifecycle entries: schema', () => {
  it.each(LIFECYCLE_KINDS)('%s: valid example round-trips in canonical form', (kind) => {
    const r = EXAMPLES[kind];
    const bytes = encodeEntry(r);
    expect(new TextDecoder().decode(bytes)).toBe(canonicalJson(r));
    expect(decodeEntry(bytes)).toEqual(r);
    // Not a decision: the decision-only decoder refuses it.
    expect(code(() => decodeRecord(bytes))).toBe('LEDGER_RECORD_INVALID');
  });

  const invalid: Array<[string, LifecycleRecord | Record<string, unknown>]> = [
    ['unknown field', { ...EXAMPLES['token.mint'], token: 'x' }],
    ['raw token in a string field', { ...EXAMPLES['token.mint'], sub: TOKEN }],
    ['raw token in a list', { ...EXAMPLES['token.mint'], tool_scope: [TOKEN] }],
    ['token_hash not a hash', { ...EXAMPLES['token.mint'], token_hash: `${TOKEN.slice(0, 40)}.ab` }],
    ['missing token_hash', { ...EXAMPLES['token.mint'], token_hash: undefined }],
    ['via serve for a mint', { ...EXAMPLES['token.mint'], via: 'serve' }],
    ['ttl 0', { ...EXAMPLES['token.mint'], ttl: 0 }],
    ['delegate depth 0', { ...EXAMPLES['token.delegate'], depth: 0 }],
    ['revoke with both', { ...EXAMPLES['token.revoke'], jti: 'j' }],
    ['revoke with neither', { ...EXAMPLES['token.revoke'], task_id: undefined }],
    ['revoke already not boolean', { ...EXAMPLES['token.revoke'], already: 0 }],
    ['agent key without sub', { ...EXAMPLES['key.create'], sub: undefined }],
    ['issuer key with sub', { ...EXAMPLES['key.retire'], sub: 'spiffe://x/y' }],
    ['prev_kid on create', { ...EXAMPLES['key.create'], prev_kid: H43 }],
    ['kid not a thumbprint', { ...EXAMPLES['key.rotate'], kid: 'short' }],
    ['alg other than EdDSA', { ...EXAMPLES['key.rotate'], alg: 'RS256' }],
    ['private key member', { ...EXAMPLES['key.rotate'], d: H43 }],
    ['trust hash uppercase', { ...EXAMPLES['trust.update'], hash: 'A'.repeat(64) }],
    ['trust revoked negative', { ...EXAMPLES['trust.update'], revoked: -1 }],
    ['policy without revision', { ...EXAMPLES['policy.activate'], revision: undefined }],
    ['config hash short', { ...EXAMPLES['sidecar.start'], config_hash: 'ab' }],
    ['sidecar with a decision field', { ...EXAMPLES['sidecar.stop'], decision: 'allow' }],
    ['v 2', { ...EXAMPLES['sidecar.stop'], v: 2 }],
    ['ts not an integer', { ...EXAMPLES['sidecar.stop'], ts: 1.5 }],
    ['unknown kind', { ...EXAMPLES['sidecar.stop'], kind: 'sidecar.restart' }],
  ];
  it.each(invalid)('refuses %s with LEDGER_RECORD_INVALID', (_what, r) => {
    const clean = JSON.parse(JSON.stringify(r)) as LifecycleRecord;
    expect(code(() => encodeEntry(clean))).toBe('LEDGER_RECORD_INVALID');
    let text: string;
    try {
      text = canonicalJson(clean);
    } catch {
      text = JSON.stringify(clean); // a non-integer number has no canonical spelling
    }
    const bytes = new TextEncoder().encode(text);
    expect(code(() => decodeEntry(bytes))).toBe('LEDGER_RECORD_INVALID');
  });

  it('refuses a non-canonical encoding of a valid entry', () => {
    const text = JSON.stringify(EXAMPLES['sidecar.start']); // insertion order, not sorted
    expect(code(() => decodeEntry(new TextEncoder().encode(text)))).toBe('LEDGER_RECORD_INVALID');
  });

  it('decodes a decision record (no kind) exactly as decodeRecord', () => {
    const bytes = encodeEntry(record(1));
    expect(decodeEntry(bytes)).toEqual(decodeRecord(bytes));
  });
});

describe('lifecycle entries: log, query by kind', () => {
  let cleanup: (() => void) | undefined;
  afterEach(() => cleanup?.());

  it('appends each kind, queries by kind (also after reopen), verifies', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    let log = await MerkleLog.open(t.dir, { hashThread: false });
    await log.appendDecision(record(0, { task_id: 'task-1' }));
    for (const kind of LIFECYCLE_KINDS) await log.appendLifecycle(EXAMPLES[kind]);
    await log.appendLifecycle(EXAMPLES['token.mint']);
    await expect(log.appendLifecycle(record(2) as unknown as LifecycleRecord)).rejects.toMatchObject({
      code: 'LEDGER_RECORD_INVALID',
    });
    const check = (l: MerkleLog) => {
      expect(l.queryEntries({ kind: 'token.mint' }).map((h) => h.index)).toEqual([1, 11]);
      expect(l.queryEntries({ kind: 'sidecar.stop' }).map((h) => h.record)).toEqual([
        EXAMPLES['sidecar.stop'],
      ]);
      expect(l.queryEntries({ kind: 'decision' }).map((h) => h.index)).toEqual([0]);
      // task filter over decisions and lifecycle entries alike; decision filter keeps decisions only.
      expect(l.queryEntries({ task: 'task-1' }).map((h) => h.index)).toEqual([0, 1, 2, 3, 11]);
      expect(
        l.queryEntries({ agent: 'spiffe://sigil.mesh/agent/planner/1', kind: 'token.delegate' }),
      ).toHaveLength(1);
      expect(l.queryEntries({ decision: 'allow' }).map((h) => h.index)).toEqual(
        l.query({ decision: 'allow' }).map((h) => h.index),
      );
      // The decision-only query skips lifecycle entries.
      expect(l.query({}).map((h) => h.index)).toEqual([0]);
      expect(l.queryEntries({ limit: 2, order: 'desc' }).map((h) => h.index)).toEqual([11, 10]);
      expect(code(() => l.queryEntries({ kind: 'token.burn' }))).toBe('LEDGER_BAD_ARGUMENT');
    };
    check(log);
    await log.close();
    log = await MerkleLog.open(t.dir, { readOnly: true });
    check(log);
    expect(verifyLog(log).ok).toBe(true);
    await log.close();
  });
});
