/**
 * Signed notes, verifier keys, checkpoints, tlog-proof bundles and decision records: the C2SP spec
 * example, round trips, and the shared malformed table (every entry rejected with its code).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type DecisionRecord,
  decodeRecord,
  encodeRecord,
  formatCheckpoint,
  LedgerError,
  noteSigner,
  openCheckpoint,
  parseCheckpoint,
  parseProofBundle,
  parseVerifierKey,
  signNote,
  verifyNote,
} from '../../src/ledger/index.js';
import { generateEd25519 } from '../../src/lib/ed25519-key.js';
import { canonicalJson } from './canonical-json.js';
import { MALFORMED_LEDGER, SPEC_NOTE, SPEC_VKEY } from './malformed.js';

function run(target: string, input: unknown): unknown {
  switch (target) {
    case 'note':
      return verifyNote(input as string, SPEC_VKEY);
    case 'vkey':
      return parseVerifierKey(input as string);
    case 'checkpoint':
      return parseCheckpoint(input as string);
    case 'bundle':
      return parseProofBundle(input as string);
    default:
      return decodeRecord(input as Uint8Array);
  }
}

describe('shared malformed ledger inputs', () => {
  it.each(MALFORMED_LEDGER.map((m) => [m.name, m] as const))('%s', (_n, m) => {
    let err: unknown;
    try {
      run(m.target, m.input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LedgerError);
    expect((err as LedgerError).code).toBe(m.code);
  });
});

describe('C2SP signed-note', () => {
  it('the spec example (key example.com/foo) verifies', () => {
    const v = verifyNote(SPEC_NOTE, SPEC_VKEY);
    expect(v).toEqual({ text: 'This is an example message.\n', keyName: 'example.com/foo' });
    expect(parseVerifierKey(SPEC_VKEY).publicKey.length).toBe(32);
  });
  it('ignores signatures by unknown keys when a trusted one verifies', () => {
    const extra = `${SPEC_NOTE}\u2014 other.example/key AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n`;
    expect(verifyNote(extra, SPEC_VKEY).keyName).toBe('example.com/foo');
  });
  it('signs notes our verifier and the vkey format accept; other keys are rejected', () => {
    const { privateKey } = generateEd25519();
    const s = noteSigner('sigil.test/audit', privateKey);
    expect(s.verifierKey).toMatch(/^sigil\.test\/audit\+[0-9a-f]{8}\+A[Q-Za-f]/);
    const note = signNote(formatCheckpoint('sigil.test/audit', 5, new Uint8Array(32).fill(3)), s);
    const cp = openCheckpoint(note, s.verifierKey);
    expect(cp.size).toBe(5);
    expect(cp.root).toEqual(new Uint8Array(32).fill(3));
    const other = noteSigner('sigil.test/audit', generateEd25519().privateKey);
    expect(() => openCheckpoint(note, other.verifierKey)).toThrow(
      expect.objectContaining({ code: 'LEDGER_SIGNATURE_INVALID' }),
    );
    expect(() => openCheckpoint(note, s.verifierKey, 'another/origin')).toThrow(
      expect.objectContaining({ code: 'LEDGER_ORIGIN_MISMATCH' }),
    );
    // A second signature by the same trusted key that fails rejects the whole note.
    const twice = `${note}\u2014 sigil.test/audit ${Buffer.concat([Buffer.from(s.keyId), Buffer.alloc(64)]).toString('base64')}\n`;
    expect(() => verifyNote(twice, s.verifierKey)).toThrow(
      expect.objectContaining({ code: 'LEDGER_SIGNATURE_INVALID' }),
    );
  });
  it('signNote refuses text without final newline or with control characters', () => {
    const s = noteSigner('a.example/k', generateEd25519().privateKey);
    expect(() => signNote('no newline', s)).toThrow(expect.objectContaining({ code: 'LEDGER_BAD_ARGUMENT' }));
    expect(() => signNote('a\tb\n', s)).toThrow(expect.objectContaining({ code: 'LEDGER_BAD_ARGUMENT' }));
  });
});

describe('decision record canonical encoding', () => {
  const rec: DecisionRecord = {
    v: 1,
    id: 'dec-1',
    ts: 1_767_225_600_000,
    decision: 'allow',
    code: 'OK',
    http_status: 200,
    sub: 'spiffe://sigil.mesh/agent/b/2',
    task_id: 'task-ü',
    tool: 'fs.read',
    depth: 1,
    chain: [
      {
        sub: 'spiffe://sigil.mesh/agent/a/1',
        iss: 'spiffe://sigil.mesh/sigil/issuer',
        jti: 'j1',
        tool_scope: ['fs.read', 'fs.write'],
        exp: 100,
      },
      {
        sub: 'spiffe://sigil.mesh/agent/b/2',
        iss: 'spiffe://sigil.mesh/agent/a/1',
        jti: 'j2',
        tool_scope: ['fs.read'],
        exp: 90,
      },
    ],
    token_hash: 'abc',
  };
  it('is sorted-key JSON without whitespace and round-trips', () => {
    const bytes = encodeRecord(rec);
    const text = new TextDecoder().decode(bytes);
    expect(text.startsWith('{"chain":[{"exp":100,"iss":')).toBe(true);
    expect(text).not.toMatch(/\s(?=(?:[^"]*"[^"]*")*[^"]*$)/);
    expect(decodeRecord(bytes)).toEqual(rec);
    // Same record in another key order → same bytes.
    const shuffled = Object.fromEntries(Object.entries(rec).reverse()) as unknown as DecisionRecord;
    expect(Buffer.from(encodeRecord(shuffled)).equals(Buffer.from(bytes))).toBe(true);
  });
  it('pop (proof of possession) is optional: old records keep their bytes, the field round-trips', () => {
    const old = new TextDecoder().decode(encodeRecord(rec));
    expect(old).not.toContain('pop');
    const withPop = new TextDecoder().decode(encodeRecord({ ...rec, pop: 'verified' }));
    expect(withPop).toBe(old.replace('"id":"dec-1",', '"id":"dec-1","pop":"verified",'));
    expect(decodeRecord(encodeRecord({ ...rec, pop: 'rejected' })).pop).toBe('rejected');
  });
  it('refuses records outside the contract', () => {
    for (const bad of [
      { ...rec, token: 'raw' },
      { ...rec, ts: 1.5 },
      { ...rec, decision: 'ALLOW' },
      { ...rec, http_status: 700 },
      { ...rec, chain: [{ ...rec.chain?.[0], exp: 'x' }] },
      { ...rec, v: 2 },
      { ...rec, pop: 'yes' },
      { ...rec, pop: true },
      {
        v: 1,
        id: 'a',
        ts: 1,
        decision: 'deny',
        code: 'X',
        http_status: 401,
        kind: 'dropped',
        count: 1,
        last_ts: 1,
        pop: 'absent',
      },
    ]) {
      expect(() => encodeRecord(bad as unknown as DecisionRecord)).toThrow(
        expect.objectContaining({ code: 'LEDGER_RECORD_INVALID' }),
      );
    }
  });
});

describe('the fast record encoder equals the generic canonical JSON', () => {
  it('on random valid records (fast-check)', () => {
    // Printable ASCII plus every character class the encoder's escape fast path must hand to
    // JSON.stringify: quote, backslash, C0 controls, DEL, lone and paired surrogates, U+2028.
    const tricky = fc.constantFrom(
      '"',
      '\\',
      '\u0000',
      '\u001f',
      '\n',
      '\u007f',
      '\ud800',
      '\udfff',
      '\u2028',
      '😀',
      'é',
    );
    const str = fc.string({
      unit: fc.oneof(fc.string({ minLength: 1, maxLength: 1 }), tricky),
      maxLength: 20,
    });
    const hop = fc.record({
      sub: str.map((x) => `s${x}`),
      iss: str.map((x) => `i${x}`),
      jti: str.map((x) => `j${x}`),
      tool_scope: fc.array(
        str.map((x) => `t${x}`),
        { maxLength: 4 },
      ),
      exp: fc.nat(),
    });
    const rec = fc.record(
      {
        v: fc.constant(1 as const),
        id: str.map((x) => `id${x}`),
        ts: fc.nat(),
        decision: fc.constantFrom('allow' as const, 'deny' as const),
        code: str.map((x) => `C${x}`),
        http_status: fc.integer({ min: 100, max: 599 }),
        sub: str,
        task_id: str,
        tool: str,
        depth: fc.integer({ min: 0, max: 64 }),
        chain: fc.array(hop, { maxLength: 3 }),
        method: str,
        host: str,
        path: fc.string({ unit: 'binary', maxLength: 30 }),
        peer: str,
        token_hash: str,
        policy_rev: str,
        pop: fc.constantFrom('verified' as const, 'absent' as const, 'rejected' as const),
      },
      { requiredKeys: ['v', 'id', 'ts', 'decision', 'code', 'http_status'] },
    );
    fc.assert(
      fc.property(rec, (r) => {
        const fast = new TextDecoder().decode(encodeRecord(r as DecisionRecord));
        expect(fast).toBe(canonicalJson(r));
        expect(decodeRecord(encodeRecord(r as DecisionRecord))).toEqual(r);
      }),
      { numRuns: 500, seed: 42 },
    );
  });
});
