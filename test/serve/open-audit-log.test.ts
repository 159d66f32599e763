/** `sigil.audit` → audit log options: the mapping `sigil serve` and `sigil audit` open the ledger with. */
import { availableParallelism } from 'node:os';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { JOURNAL_COMMIT_DELAY_MS } from '../../src/ledger/lib/journal.js';
import { auditLogOptions, openAuditLog } from '../../src/serve/open-audit-log.js';
import { record, tempDir } from '../ledger/helpers.js';

let t: { dir: string; cleanup: () => void };
beforeEach(() => {
  t = tempDir();
});
afterEach(() => t.cleanup());

describe('openAuditLog', () => {
  it('audit.hash_thread reaches the log: auto = the default, on, off', async () => {
    const got: Record<string, boolean> = {};
    for (const v of ['auto', 'on', 'off'] as const) {
      const config = loadConfig({
        env: {},
        overrides: { data_dir: `${t.dir}/${v}`, audit: { hash_thread: v } },
      });
      const log = await openAuditLog(config, { checkpointIntervalSec: 0 });
      got[v] = log.hashThread;
      await log.close();
    }
    expect(got).toEqual({ auto: availableParallelism() > 1, on: true, off: false });
    // The journal's commit delay: sigil serve's default is the log's; out of range is refused by name.
    expect(loadConfig({ env: {} }).audit.commit_delay_ms).toBe(JOURNAL_COMMIT_DELAY_MS);
    expect(() => loadConfig({ env: {}, overrides: { audit: { commit_delay_ms: 5000 } } })).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        message: expect.stringContaining('sigil.audit.commit_delay_ms'),
      }),
    );
    expect(() => loadConfig({ env: {}, overrides: { audit: { hash_thread: 'yes' } } })).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        message: expect.stringContaining('sigil.audit.hash_thread'),
      }),
    );
  });

  it('maps durability, commit delay, checkpoint interval and origin (default <trust domain>/sigil/audit)', async () => {
    const config = loadConfig({
      env: {},
      overrides: {
        data_dir: t.dir,
        issuer: { spiffe_trust_domain: 'example.org' },
        audit: { durability: 'fast', checkpoint_interval: 7, commit_delay_ms: 25 },
      },
    });
    expect(auditLogOptions(config)).toEqual({
      durability: 'fast',
      commitDelayMs: 25,
      checkpointIntervalSec: 7,
      origin: 'example.org/sigil/audit',
      archiveDir: `${t.dir}/archive`,
    });
    const custom = loadConfig({ env: {}, overrides: { audit: { origin: 'audit.example/log' } } });
    expect(auditLogOptions(custom).origin).toBe('audit.example/log');
    const log = await openAuditLog(config, { checkpointIntervalSec: 0 });
    expect([log.dir, log.durability, log.origin]).toEqual([
      `${t.dir}/ledger`,
      'fast',
      'example.org/sigil/audit',
    ]);
    await log.close();
  });

  it('maps retention (a duration) and archive_dir, validated with the key name', () => {
    const forms: Array<[unknown, number]> = [
      [3600, 3600_000],
      ['90m', 5400_000],
      ['36h', 129_600_000],
      ['30d', 2_592_000_000],
      ['2w', 1_209_600_000],
      ['45s', 45_000],
    ];
    for (const [retention, ms] of forms) {
      const c = loadConfig({
        env: {},
        overrides: { audit: { retention, archive_dir: '/srv/tiles', compaction_interval: 60 } },
      });
      expect(auditLogOptions(c)).toMatchObject({
        retentionMs: ms,
        archiveDir: '/srv/tiles',
        compactionIntervalSec: 60,
      });
    }
    // No retention: no compaction at all (entries are kept forever).
    expect(auditLogOptions(loadConfig({ env: {}, overrides: {} }))).not.toHaveProperty('retentionMs');
    for (const bad of ['1y', '0', 0, -5, '3.5d', 'forever', true]) {
      expect(() => loadConfig({ env: {}, overrides: { audit: { retention: bad } } }), String(bad)).toThrow(
        expect.objectContaining({
          code: 'CONFIG_INVALID',
          message: expect.stringContaining('sigil.audit.retention'),
        }),
      );
    }
  });

  it('compaction_interval runs export and prune periodically on a writable log', async () => {
    const config = loadConfig({
      env: {},
      overrides: {
        data_dir: t.dir,
        audit: { retention: '1d', compaction_interval: 1, checkpoint_interval: 0 },
      },
    });
    const runs: Array<{ pruned: number } | undefined> = [];
    const log = await openAuditLog(config, { onCompaction: (r, err) => runs.push(err ? undefined : r) });
    // helpers.record times are in January 2026: older than one day.
    await Promise.all(Array.from({ length: 600 }, (_, i) => log.appendDecision(record(i))));
    // The first run is due 1 s after open; under a loaded test machine it may start late, so wait for it
    // (up to 15 s) instead of sleeping a fixed 1.3 s.
    await vi.waitFor(() => expect(runs.length).toBeGreaterThan(0), { timeout: 15_000, interval: 50 });
    expect(runs[0]).toMatchObject({ prunedBefore: 0, pruned: 512 });
    expect(log.pruned).toBe(512);
    await log.close();
  });
});
