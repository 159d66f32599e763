/**
 * The dashboard's in-browser proof check (dashboard/src/verify.ts), run here in Node on real ledger output: a real
 * LMDB log, its real checkpoint and verifier key. It must say verified only for the untouched bundle and fail closed
 * — no exception, no "verified" — for the ledger's shared malformed-input table and for random mutations.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProofBundle } from '../../dashboard/src/types.js';
import { verifyProof } from '../../dashboard/src/verify.js';
import { MerkleLog, noteSigner } from '../../src/ledger/index.js';
import type { DecisionRecord } from '../../src/ledger/record.js';
import { generateEd25519 } from '../../src/lib/ed25519-key.js';
import { MALFORMED_LEDGER } from '../ledger/malformed.js';

let dir: string;
let log: MerkleLog;
let key: string;
const INDEX = 5;
let bundle: ProofBundle;
let shown: DecisionRecord;

const record = (i: number): DecisionRecord => ({
  v: 1,
  id: `d-${i}`,
  ts: 1_795_000_000_000 + i,
  decision: i % 2 ? 'allow' : 'deny',
  code: i % 2 ? 'OK' : 'AUTHZ_TOOL_NOT_IN_SCOPE',
  http_status: i % 2 ? 200 : 403,
  task_id: 't',
  sub: 'spiffe://sigil.mesh/agent/a/1',
});

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sigil-dash-verify-'));
  log = await MerkleLog.open(dir, { origin: 'sigil.mesh/sigil/audit' });
  for (let i = 0; i < 13; i++) await log.appendDecision(record(i));
  const cp = await log.checkpoints.make();
  key = log.checkpoints.verifierKey;
  shown = record(INDEX);
  bundle = {
    index: INDEX,
    size: cp.size,
    entry: Buffer.from(log.entry(INDEX)).toString('base64'),
    proof: log.inclusionProof(INDEX, cp.size).map((h) => Buffer.from(h).toString('base64')),
    checkpoint: cp.note,
  };
});

afterAll(async () => {
  await log?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('in-browser proof verification', () => {
  it('verifies a real entry against the pinned key', () => {
    const v = verifyProof(bundle, shown, key);
    expect(v.ok).toBe(true);
    expect(v.checks.map((c) => c.label)).toEqual([
      'Checkpoint signature',
      'Tree size',
      'Entry bytes',
      'Inclusion proof',
    ]);
    expect(v.size).toBe(13);
  });

  it('fails with the first broken check for each tampering', () => {
    const other = noteSigner('sigil.mesh/sigil/audit', generateEd25519().privateKey).verifierKey;
    const cases: [string, ProofBundle, DecisionRecord, string | undefined, string][] = [
      ['no pinned key', bundle, shown, undefined, 'Pinned key'],
      ['another key', bundle, shown, other, 'Checkpoint signature'],
      ['other entry shown', bundle, record(INDEX + 2), key, 'Entry bytes'],
      ['wrong index', { ...bundle, index: INDEX + 1 }, shown, key, 'Inclusion proof'],
      ['wrong size', { ...bundle, size: bundle.size + 1 }, shown, key, 'Tree size'],
      ['proof shortened', { ...bundle, proof: bundle.proof.slice(1) }, shown, key, 'Inclusion proof'],
      [
        'proof extended',
        { ...bundle, proof: [...bundle.proof, bundle.proof[0]!] },
        shown,
        key,
        'Inclusion proof',
      ],
      ['index past size', { ...bundle, index: 99 }, shown, key, 'Tree size'],
    ];
    for (const [name, b, s, k, failing] of cases) {
      const v = verifyProof(b, s, k);
      expect(v.ok, name).toBe(false);
      expect(v.checks.at(-1)?.label, name).toBe(failing);
    }
  });

  it('the ledger shared malformed table (notes, keys, records) never verifies and never throws', () => {
    let used = 0;
    for (const m of MALFORMED_LEDGER) {
      let v: ReturnType<typeof verifyProof> | undefined;
      if (m.target === 'note' || m.target === 'checkpoint') {
        v = verifyProof({ ...bundle, checkpoint: m.input as string }, shown, key);
      } else if (m.target === 'vkey') {
        v = verifyProof(bundle, shown, m.input as string);
      } else if (m.target === 'record' && m.input instanceof Uint8Array) {
        v = verifyProof({ ...bundle, entry: Buffer.from(m.input).toString('base64') }, shown, key);
      } else if (m.target === 'bundle' && typeof m.input === 'string') {
        v = verifyProof({ ...bundle, checkpoint: m.input }, shown, key);
      }
      if (!v) continue;
      used++;
      expect(v.ok, m.name).toBe(false);
    }
    expect(used).toBeGreaterThan(10);
  });

  it('garbage-shaped answers fail closed', () => {
    const garbage: unknown[] = [
      null,
      {},
      { ...bundle, proof: 'x' },
      { ...bundle, proof: [1, 2] },
      { ...bundle, proof: Array(65).fill(bundle.proof[0]) },
      { ...bundle, entry: 42 },
      { ...bundle, entry: '***' },
      { ...bundle, index: -1 },
      { ...bundle, index: 1.5 },
      { ...bundle, size: Number.NaN },
      { ...bundle, checkpoint: undefined },
      // Same bytes, non-canonical base64 (a padding bit set).
      {
        ...bundle,
        proof: [
          bundle.proof[0]!.replace(
            /(.)=$/,
            (_m, c: string) => `${String.fromCharCode(c.charCodeAt(0) + 1)}=`,
          ),
          ...bundle.proof.slice(1),
        ],
      },
    ];
    for (const g of garbage) expect(verifyProof(g as ProofBundle, shown, key).ok).toBe(false);
  });

  it('any single-character change to the answer is caught (property)', () => {
    const fields = ['entry', 'checkpoint', 'proof'] as const;
    fc.assert(
      fc.property(
        fc.constantFrom(...fields),
        fc.nat(),
        fc.integer({ min: 1, max: 0xffff }),
        (field, at, code) => {
          const b: ProofBundle = { ...bundle, proof: [...bundle.proof] };
          const mutate = (s: string) => {
            const i = at % s.length;
            const c = String.fromCharCode(code);
            return c === s[i] ? s : s.slice(0, i) + c + s.slice(i + 1);
          };
          if (field === 'proof') {
            const j = at % b.proof.length;
            b.proof[j] = mutate(b.proof[j]!);
          } else b[field] = mutate(b[field]);
          const changed = JSON.stringify(b) !== JSON.stringify(bundle);
          const v = verifyProof(b, shown, key);
          // Includes flips of base64 padding bits: the decoder is canonical-only, so those are rejected too.
          return !changed || !v.ok;
        },
      ),
      { numRuns: 400 },
    );
  });
});
