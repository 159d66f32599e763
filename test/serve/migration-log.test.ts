/**
 * A format-3 ledger migrated by `sigil serve` at start says so through the serve logger (docs/ledger.md §2
 * "Format 3 and the migration"): start (formats, entries, records), progress (copied/records), end
 * (duration); and the progress lines are rate-limited.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MerkleLog } from '../../src/ledger/index.js';
import { startSigil } from '../../src/serve/index.js';
import { migrationLog } from '../../src/serve/migration-log.js';
import { downgradeToV3 } from '../ledger/fixtures/v3-ledger.js';
import { record, tempDir } from '../ledger/helpers.js';
import { capturedLogger, loopbackConfig } from '../support/sigil-config.js';

let t: { dir: string; cleanup: () => void };
beforeAll(() => {
  t = tempDir('sigil-migration-log-');
});
afterAll(() => t.cleanup());

describe('ledger migration log lines', () => {
  it('startSigil on a format-3 ledger logs the start, progress and end of its migration', async () => {
    const dir = join(t.dir, 'ledger');
    const old = await MerkleLog.open(dir, { hashThread: false });
    await Promise.all(Array.from({ length: 40 }, (_, i) => old.appendDecision(record(i))));
    await old.close();
    await downgradeToV3(dir);

    const { logger, lines } = capturedLogger();
    const config = await loopbackConfig(t.dir, { audit: { durability: 'fast' } });
    const sigil = await startSigil(config, { logger });
    try {
      expect(sigil.ledger.format).toBe(4);
      expect(sigil.ledger.size).toBeGreaterThanOrEqual(40); // + the start's lifecycle entry
    } finally {
      await sigil.close();
    }
    const migration = lines.filter((l) => String(l.msg).startsWith('ledger migration'));
    expect(migration.map((l) => l.msg)).toEqual([
      'ledger migration started',
      'ledger migration progress',
      'ledger migration done',
    ]);
    const [start, progress, end] = migration as [Record<string, unknown>, ...Record<string, unknown>[]];
    expect(start).toMatchObject({ level: 30, from_format: 3, to_format: 4, entries: 40, copied: 0 });
    // 40 entries, their node rows and postings: every record is copied by the end.
    const records = start.records as number;
    expect(records).toBeGreaterThan(40);
    expect(progress).toMatchObject({ records });
    expect(progress?.copied as number).toBeGreaterThan(0);
    expect(end).toMatchObject({ copied: records, records });
    expect(end?.ms).toEqual(expect.any(Number));
  }, 60_000);

  it('writes the first progress line, then at most one every everyMs, and the duration at the end', () => {
    let now = 1000;
    const got: string[] = [];
    const on = migrationLog((f, m) => got.push(`${m} ${JSON.stringify(f)}`), {
      everyMs: 5000,
      now: () => now,
    });
    on({ phase: 'start', from: 3, to: 4, entries: 10, records: 30, copied: 5 });
    for (const [at, copied] of [
      [1100, 10],
      [4000, 15],
      [6099, 20],
      [6100, 25],
      [7000, 30],
    ] as const) {
      now = at;
      on({ phase: 'progress', copied, records: 30 });
    }
    now = 7500;
    on({ phase: 'end', copied: 30, records: 30 });
    expect(got).toEqual([
      'ledger migration resumed {"from_format":3,"to_format":4,"entries":10,"records":30,"copied":5}',
      'ledger migration progress {"copied":10,"records":30}',
      'ledger migration progress {"copied":25,"records":30}',
      'ledger migration done {"copied":30,"records":30,"ms":6500}',
    ]);
  });
});
