/**
 * Entries that count unauthenticated denies (docs/ledger.md §4 "Entry kinds", issue #18 item 4): their
 * canonical encoding, what the schema refuses, and that logs written before them still open, decode and verify.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { type DecisionRecord, decodeRecord, encodeRecord, MerkleLog } from '../../src/ledger/index.js';
import { verifyLog } from '../../src/ledger/verify-log.js';
import { runCliSync } from '../support/sigil-cli.js';
import { canonicalJson } from './canonical-json.js';
import { record, tempDir } from './helpers.js';

const aggregate: DecisionRecord = {
  v: 1,
  id: '6f1c0d1e-0000-4000-8000-000000000001',
  ts: 1_767_225_600_000,
  decision: 'deny',
  code: 'AUTHZ_NO_TOKEN',
  http_status: 401,
  kind: 'aggregate',
  count: 4096,
  last_ts: 1_767_225_600_900,
  window_ms: 1000,
  source: '203.0.113.7',
  method: 'POST',
  host: 'agent.local',
  path: '/tools/fs.read',
};
const dropped: DecisionRecord = {
  v: 1,
  id: '6f1c0d1e-0000-4000-8000-000000000002',
  ts: 1_767_225_600_000,
  decision: 'deny',
  code: 'TBIT_MALFORMED',
  http_status: 401,
  kind: 'dropped',
  count: 12,
  last_ts: 1_767_225_660_000,
};

describe('aggregate and dropped entries: encoding', () => {
  it('encode canonically (sorted keys) and round-trip', () => {
    const text = new TextDecoder().decode(encodeRecord(aggregate));
    expect(text).toBe(
      '{"code":"AUTHZ_NO_TOKEN","count":4096,"decision":"deny","host":"agent.local","http_status":401,' +
        '"id":"6f1c0d1e-0000-4000-8000-000000000001","kind":"aggregate","last_ts":1767225600900,"method":"POST",' +
        '"path":"/tools/fs.read","source":"203.0.113.7","ts":1767225600000,"v":1,"window_ms":1000}',
    );
    expect(decodeRecord(encodeRecord(aggregate))).toEqual(aggregate);
    expect(decodeRecord(encodeRecord(dropped))).toEqual(dropped);
  });

  it('the fast encoder equals the generic canonical JSON on random counted entries (fast-check)', () => {
    const str = fc.string({
      unit: fc.constantFrom('a', 'Z', '"', '\\', '\u0000', '\ud800', 'é'),
      maxLength: 12,
    });
    const counted = fc
      .record(
        {
          v: fc.constant(1 as const),
          id: str.map((x) => `id${x}`),
          ts: fc.nat({ max: 2 ** 45 }),
          decision: fc.constant('deny' as const),
          code: str.map((x) => `C${x}`),
          http_status: fc.integer({ min: 100, max: 599 }),
          kind: fc.constantFrom('aggregate' as const, 'dropped' as const),
          count: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
          window_ms: fc.integer({ min: 1, max: 86_400_000 }),
          source: str.map((x) => `s${x}`),
          method: str,
          host: str,
          path: str,
          peer: str,
          tool: str,
          policy_rev: str,
          span: fc.nat({ max: 60_000 }),
        },
        { requiredKeys: ['v', 'id', 'ts', 'decision', 'code', 'http_status', 'kind', 'count', 'span'] },
      )
      .map(({ span, ...r }) => {
        const out: DecisionRecord = { ...r, last_ts: r.ts + span };
        if (r.kind === 'dropped') {
          for (const k of [
            'window_ms',
            'source',
            'method',
            'host',
            'path',
            'peer',
            'tool',
            'policy_rev',
          ] as const)
            delete out[k];
        } else {
          out.window_ms ??= 1000;
          out.source ??= '*';
        }
        return out;
      });
    fc.assert(
      fc.property(counted, (r) => {
        const bytes = encodeRecord(r);
        expect(new TextDecoder().decode(bytes)).toBe(canonicalJson(r));
        expect(decodeRecord(bytes)).toEqual(r);
      }),
      { numRuns: 300, seed: 18 },
    );
  });

  it.each([
    ['count on a plain decision', { ...record(1), count: 2 }],
    ['source on a plain decision', { ...record(1), source: '10.0.0.1' }],
    ['unknown kind', { ...aggregate, kind: 'batch' }],
    ['an allow aggregate', { ...aggregate, decision: 'allow', code: 'OK', http_status: 200 }],
    ['count 0', { ...aggregate, count: 0 }],
    ['count not an integer', { ...aggregate, count: 1.5 }],
    ['last_ts before ts', { ...aggregate, last_ts: aggregate.ts - 1 }],
    ['no last_ts', { ...aggregate, last_ts: undefined }],
    ['no window', { ...aggregate, window_ms: undefined }],
    ['no source', { ...aggregate, source: undefined }],
    ['empty source', { ...aggregate, source: '' }],
    ['an identity field (sub)', { ...aggregate, sub: 'spiffe://sigil.mesh/agent/x/1' }],
    ['an identity field (token_hash)', { ...aggregate, token_hash: 'abc' }],
    ['an identity field (chain)', { ...aggregate, chain: [] }],
    ['a dropped tally with a source', { ...dropped, source: '*' }],
    ['a dropped tally with a sample', { ...dropped, path: '/x' }],
  ])('refuses %s (LEDGER_RECORD_INVALID)', (_name, bad) => {
    expect(() => encodeRecord(bad as DecisionRecord)).toThrow(
      expect.objectContaining({ code: 'LEDGER_RECORD_INVALID' }),
    );
    // decodeRecord applies the same schema to stored bytes (a float has no canonical form: plain JSON).
    const text = Number.isSafeInteger((bad as DecisionRecord).count ?? 1)
      ? canonicalJson(bad)
      : JSON.stringify(bad);
    expect(() => decodeRecord(new TextEncoder().encode(text))).toThrow(
      expect.objectContaining({ code: 'LEDGER_RECORD_INVALID' }),
    );
  });
});

describe('logs with and without the new entries', () => {
  let cleanup: (() => void) | undefined;
  afterEach(() => cleanup?.());

  it('a log written before entry kinds existed (fixture) opens, decodes byte-identically and verifies', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    // Made by the code before this change: 12 decision records (allows, a tokenless deny, every optional
    // field) and one signed checkpoint. Only the public verifier key is kept next to it.
    writeFileSync(
      join(t.dir, 'ledger.mdb'),
      gunzipSync(readFileSync(new URL('./fixtures/ledger-v1-records.mdb.gz', import.meta.url))),
    );
    const log = await MerkleLog.open(t.dir, { readOnly: true, origin: 'fixture.example/sigil/audit' });
    try {
      expect(log.size).toBe(12);
      expect(Buffer.from(log.root()).toString('base64')).toBe('VS2GKiLwr92a6U8NjJHdv2jCs92QxasJ/zNt8tiiHhc=');
      for (let i = 0; i < log.size; i++) {
        const r = log.decision(i);
        expect(r.kind).toBeUndefined();
        expect(Buffer.from(encodeRecord(r)).equals(Buffer.from(log.entry(i)))).toBe(true);
      }
      expect(log.decision(5)).toMatchObject({ code: 'AUTHZ_NO_TOKEN', path: '/tools/fs.read' });
      expect(log.decision(7)).toMatchObject({ policy_rev: 'rev-1', depth: 2, tool: 'fs.read' });
      const report = verifyLog(log, {
        verifierKey: 'fixture.example/sigil/audit+5b1bf90a+ATFN4qISueuiAe9ItAZ+CZ9EbHLHoRF6CJApMvCTqCEi',
      });
      expect(report).toMatchObject({ ok: true, size: 12, entries: 12, checkpoints: 1, problems: [] });
      expect(log.query({ decision: 'deny' }).map((h) => h.index)).toEqual([0, 3, 5, 6, 9]);
    } finally {
      await log.close();
    }
  });

  it('a log with aggregate and dropped entries between decisions verifies (verifyLog, sigil audit verify) and queries', {
    timeout: 120_000,
  }, async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const dir = join(t.dir, 'ledger');
    mkdirSync(dir);
    // The CLI's default origin (no config file), so `audit verify` checks the checkpoints with the same one.
    const log = await MerkleLog.open(dir, { origin: 'sigil.mesh/sigil/audit' });
    try {
      await log.appendDecision(record(1));
      await log.appendDecision(aggregate);
      await log.appendDecision(record(2));
      await log.appendDecision(dropped);
      await log.checkpoints.make();
      await log.appendDecision({ ...aggregate, id: 'a2', source: '*', count: 1, last_ts: aggregate.ts });
      await log.checkpoints.make();
      expect(verifyLog(log)).toMatchObject({ ok: true, size: 5, checkpoints: 2 });
      const denies = log.query({ decision: 'deny' });
      expect(denies.map((h) => [h.index, h.record.kind, h.record.count])).toEqual([
        [1, 'aggregate', 4096],
        [3, 'dropped', 12],
        [4, 'aggregate', 1],
      ]);
      expect(log.query({ since: aggregate.ts, until: aggregate.ts }).map((h) => h.index)).toEqual([1, 3, 4]);
    } finally {
      await log.close();
    }
    // `sigil audit verify` passes and says what the entries stand for; `tail` prints the new fields.
    const cli = (...args: string[]) => runCliSync(['--data', t.dir, 'audit', ...args]);
    const v = cli('verify');
    expect(v.code, v.stderr).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({
      ok: true,
      size: 5,
      records: {
        decisions: 2,
        aggregates: 2,
        aggregated_denies: 4097,
        dropped: 1,
        dropped_denies: 12,
        opaque: 0,
      },
    });
    const tail = cli('tail', '-n', '2');
    expect(tail.code, tail.stderr).toBe(0);
    expect(
      tail.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([
      { index: 4, record: expect.objectContaining({ kind: 'aggregate', count: 1, source: '*' }) },
      { index: 3, record: dropped },
    ]);
    // And from a read-only reopen (postings re-derived by decoding the entries).
    const again = await MerkleLog.open(dir, { readOnly: true, origin: 'sigil.mesh/sigil/audit' });
    try {
      expect(again.decision(3)).toEqual(dropped);
      expect(again.tail(1)[0]!.record).toMatchObject({ kind: 'aggregate', source: '*' });
    } finally {
      await again.close();
    }
  });
});

describe('claimed identities of unverified tokens (record version 2, issue #24)', () => {
  const single: DecisionRecord = {
    v: 2,
    id: '6f1c0d1e-0000-4000-8000-000000000003',
    ts: 1_767_225_600_000,
    decision: 'deny',
    code: 'TBIT_BAD_SIGNATURE',
    http_status: 401,
    path: '/tools/fs.read',
    claimed: { verified: false, sub: 'spiffe://x/agent/a/1', task_id: 'T', kid: 'k1' },
  };
  const tally = (i: number, count = 1) => ({
    verified: false as const,
    sub: `spiffe://x/agent/a/${i}`,
    count,
  });
  const eight = Array.from({ length: 8 }, (_, i) => tally(i));
  const withClaims: DecisionRecord = { ...aggregate, v: 2, count: 20, claimed: eight, claimed_other: 3 };

  it('encode canonically (claimed keys sorted, `verified:false` kept) and round-trip', () => {
    const text = new TextDecoder().decode(encodeRecord(single));
    expect(text).toBe(canonicalJson(single));
    expect(text).toContain(
      '{"claimed":{"kid":"k1","sub":"spiffe://x/agent/a/1","task_id":"T","verified":false},"code":',
    );
    expect(text.endsWith('"v":2}')).toBe(true);
    expect(decodeRecord(encodeRecord(single))).toEqual(single);
    expect(new TextDecoder().decode(encodeRecord(withClaims))).toBe(canonicalJson(withClaims));
    expect(decodeRecord(encodeRecord(withClaims))).toEqual(withClaims);
  });

  it.each([
    ['claimed on version 1', { ...single, v: 1 }],
    ['version 2 without claimed', { ...record(3), v: 2 }],
    ['claimed on an allow', { ...single, decision: 'allow', code: 'OK', http_status: 200 }],
    ['claimed beside a verified sub', { ...single, sub: 'spiffe://x/agent/a/1' }],
    ['claimed beside a token_hash', { ...single, token_hash: 'abc' }],
    ['verified not false', { ...single, claimed: { ...single.claimed, verified: true } }],
    ['an unknown claimed field', { ...single, claimed: { ...single.claimed, aud: 'x' } }],
    ['a claimed token', { ...single, claimed: { verified: false, task_id: 'eyJhbGciOi.eyJzdWIi.sig' } }],
    ['a sub that is no SPIFFE ID', { ...single, claimed: { verified: false, sub: 'admin' } }],
    ['an oversized sub', { ...single, claimed: { verified: false, sub: `spiffe://x/${'a'.repeat(600)}` } }],
    ['an oversized task_id', { ...single, claimed: { verified: false, task_id: 't'.repeat(129) } }],
    ['a task_id with a space', { ...single, claimed: { verified: false, task_id: 'a b' } }],
    ['a claim of nothing', { ...single, claimed: { verified: false } }],
    ['an array on a single deny', { ...single, claimed: [tally(1)] }],
    ['claimed_other on a single deny', { ...single, claimed_other: 1 }],
    ['nine claimed identities', { ...withClaims, claimed: [...eight, tally(9)] }],
    ['a repeated claimed identity', { ...withClaims, claimed: [...eight.slice(1), tally(1)] }],
    ['claimed_other with a list not full', { ...withClaims, claimed: eight.slice(1) }],
    ['counts above the aggregate count', { ...withClaims, count: 10 }],
    ['a tally without count', { ...withClaims, claimed: [{ verified: false, sub: 'spiffe://x/a' }] }],
    ['an empty list', { ...aggregate, v: 2, claimed: [] }],
    ['claims on a dropped tally', { ...dropped, v: 2, claimed: [tally(1)] }],
  ])('refuses %s (LEDGER_RECORD_INVALID)', (_name, bad) => {
    expect(() => encodeRecord(bad as DecisionRecord)).toThrow(
      expect.objectContaining({ code: 'LEDGER_RECORD_INVALID' }),
    );
    expect(() => decodeRecord(new TextEncoder().encode(canonicalJson(bad)))).toThrow(
      expect.objectContaining({ code: 'LEDGER_RECORD_INVALID' }),
    );
  });
});
