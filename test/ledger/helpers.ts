/** Temp dirs and record factories for the ledger tests (real LMDB files, removed after each test). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DecisionRecord } from '../../src/ledger/record.js';

/** A fresh temp directory; call the returned cleanup in afterEach. */
export function tempDir(prefix = 'sigil-ledger-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A valid decision record number `i` with a few varying fields. */
export function record(i: number, over: Partial<DecisionRecord> = {}): DecisionRecord {
  return {
    v: 1,
    id: `dec-${i}`,
    ts: 1_767_225_600_000 + i * 1000,
    decision: i % 3 === 0 ? 'deny' : 'allow',
    code: i % 3 === 0 ? 'TBIT_EXPIRED' : 'OK',
    http_status: i % 3 === 0 ? 403 : 200,
    sub: `spiffe://sigil.mesh/agent/leaf/${i % 4}`,
    task_id: `task-${i % 5}`,
    chain: [
      {
        sub: 'spiffe://sigil.mesh/agent/root/0',
        iss: 'spiffe://sigil.mesh/sigil/issuer',
        jti: `r${i}`,
        tool_scope: ['fs.read'],
        exp: 10,
      },
      {
        sub: `spiffe://sigil.mesh/agent/leaf/${i % 4}`,
        iss: 'spiffe://sigil.mesh/agent/root/0',
        jti: `l${i}`,
        tool_scope: ['fs.read'],
        exp: 9,
      },
    ],
    ...over,
  };
}

export const bytesOf = (s: string): Uint8Array => new TextEncoder().encode(s);

/** XORs byte `at` of `b` with `mask` (noUncheckedIndexedAccess-friendly). */
export function flip(b: Uint8Array, at: number, mask = 1): void {
  b[at] = (b[at] as number) ^ mask;
}

/**
 * Every entry index a stored posting of `log` lists (docs/ledger.md §2: key [kind, value, first], value
 * uint32 little-endian offsets from first).
 */
export function postedIndices(log: {
  lmdb: { idx: { getRange(o: object): Iterable<{ key: unknown; value: unknown }> } };
}): number[] {
  return [...log.lmdb.idx.getRange({})].flatMap(({ key, value }) => {
    const b = value as Buffer;
    const first = (key as [string, unknown, number])[2];
    return Array.from({ length: b.length / 4 }, (_, i) => first + b.readUInt32LE(i * 4));
  });
}
