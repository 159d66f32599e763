/**
 * `sigil audit …` end to end through the real CLI (tsx child processes) on a real ledger: JSON output that
 * verifies with the browser-safe functions, bundles verified with only the verifier key, and refusals with
 * a stable code on stderr and a non-zero exit.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  b64decode,
  leafHash,
  MerkleLog,
  verifyConsistency,
  verifyInclusion,
} from '../../src/ledger/index.js';
import { runCliSync } from '../support/sigil-cli.js';
import { record, tempDir } from './helpers.js';

const t = tempDir('sigil-ledger-cli-');
const data = join(t.dir, 'data');
const cli = (...args: string[]) => runCliSync(['--data', data, 'audit', ...args]);
const lines = (s: string) =>
  s
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const bytes = (s: unknown) => b64decode(s as string) as Uint8Array;

beforeAll(async () => {
  const log = await MerkleLog.open(join(data, 'ledger'));
  for (let i = 0; i < 40; i++) {
    await log.appendDecision(record(i));
    // A stored checkpoint of a past size, for `prove --bundle --size`.
    if (i === 19) await log.checkpoints.make();
  }
  await log.close();
});
afterAll(() => t.cleanup());

describe('sigil audit', { timeout: 180_000 }, () => {
  it('query --prove prints JSON lines whose proofs verify; root and consistency agree', () => {
    const q = cli('query', '--task', 'task-3', '--decision', 'deny', '--prove');
    expect(q.code).toBe(0);
    const hits = lines(q.stdout);
    expect(hits.map((h) => h.index)).toEqual([3, 18, 33]);
    for (const h of hits) {
      const p = h.proof as { size: number; root: string; leaf_hash: string; hashes: string[] };
      expect((h.record as { task_id: string }).task_id).toBe('task-3');
      expect(
        verifyInclusion(bytes(p.leaf_hash), h.index as number, p.size, p.hashes.map(bytes), bytes(p.root)),
      ).toBe(true);
    }
    const root = lines(cli('root').stdout)[0] as { size: number; root: string };
    expect(root.size).toBe(40);
    expect(root.root).toBe((hits[0]?.proof as { root: string } | undefined)?.root);
    const c = lines(cli('consistency', '7', '40').stdout)[0] as {
      root1: string;
      root2: string;
      hashes: string[];
    };
    expect(verifyConsistency(7, 40, c.hashes.map(bytes), bytes(c.root1), bytes(c.root2))).toBe(true);
    expect(c.root2).toBe(root.root);
  });

  it('tail, time range and agent filters', () => {
    expect(lines(cli('tail', '-n', '2').stdout).map((h) => h.index)).toEqual([39, 38]);
    const since = String(record(5).ts);
    const until = new Date(record(7).ts).toISOString();
    expect(lines(cli('query', '--since', since, '--until', until).stdout).map((h) => h.index)).toEqual([
      5, 6, 7,
    ]);
    const agent = lines(
      cli('query', '--agent', 'spiffe://sigil.mesh/agent/leaf/2', '--limit', '3', '--desc').stdout,
    );
    expect(agent.map((h) => h.index)).toEqual([38, 34, 30]);
  });

  it('prove --bundle → verify-bundle with only the verifier key; a tampered bundle is refused', () => {
    const cp = lines(cli('checkpoint').stdout)[0] as { size: number; verifier_key: string; note: string };
    expect(cp.size).toBe(40);
    expect(cp.note.startsWith('sigil.mesh/sigil/audit\n40\n')).toBe(true);
    const b = cli('prove', '12', '--bundle');
    expect(b.code).toBe(0);
    const file = join(t.dir, 'e12.tlog-proof');
    writeFileSync(file, b.stdout);
    const ok = cli('verify-bundle', file, '--key', cp.verifier_key);
    expect(ok.code).toBe(0);
    const v = lines(ok.stdout)[0] as { index: number; entry: string };
    expect(v.index).toBe(12);
    expect(JSON.parse(v.entry).id).toBe('dec-12');
    expect(Buffer.from(leafHash(new TextEncoder().encode(v.entry))).length).toBe(32);
    writeFileSync(file, b.stdout.replace('index 12', 'index 13'));
    const bad = cli('verify-bundle', file, '--key', cp.verifier_key);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^LEDGER_PROOF_INVALID: /);
  });

  it('prove --bundle --size N proves against the checkpoint of size N, or refuses', () => {
    const key = (lines(cli('checkpoint', '--latest').stdout)[0] as { verifier_key: string }).verifier_key;
    const verified = (args: string[]) => {
      const b = cli('prove', '12', '--bundle', ...args);
      expect(b.code, b.stderr).toBe(0);
      const file = join(t.dir, 'sized.tlog-proof');
      writeFileSync(file, b.stdout);
      return lines(cli('verify-bundle', file, '--key', key).stdout)[0] as { index: number; size: number };
    };
    expect(verified(['--size', '20'])).toMatchObject({ index: 12, size: 20 });
    expect(verified(['--size', '40'])).toMatchObject({ index: 12, size: 40 });
    expect(verified([])).toMatchObject({ index: 12, size: 40 });
    // No checkpoint of size 30 is stored and 30 is not the current size: refused, never ignored.
    for (const size of ['30', '12', '41', '0']) {
      const r = cli('prove', '12', '--bundle', '--size', size);
      expect(r.code, size).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^LEDGER_BAD_ARGUMENT: /);
    }
    expect(cli('prove', '12', '--bundle', '--size', '30').stderr).toContain(
      'no signed checkpoint of size 30',
    );
  });

  it('refuses bad arguments with a stable code and exit 1', () => {
    for (const [args, code] of [
      [['prove', '40'], 'LEDGER_BAD_ARGUMENT'],
      [['prove', '-1'], 'LEDGER_BAD_ARGUMENT'],
      [['consistency', '9', '3'], 'LEDGER_BAD_ARGUMENT'],
      [['query', '--decision', 'maybe'], 'LEDGER_BAD_ARGUMENT'],
      [['query', '--since', 'yesterday'], 'LEDGER_BAD_ARGUMENT'],
      [['query', '--until', 'x 1'], 'LEDGER_BAD_ARGUMENT'], // Date.parse: 2001-01-01
      [['verify-bundle', join(t.dir, 'missing'), '--key', 'x+00000000+AA=='], 'LEDGER_IO'],
    ] as const) {
      const r = cli(...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^${code}: `));
    }
  });
});
