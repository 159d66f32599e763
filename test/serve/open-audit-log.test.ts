/** `sigil.audit` → audit log options: the mapping `sigil serve` and `sigil audit` open the ledger with. */
import { availableParallelism } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { auditLogOptions, openAuditLog } from '../../src/serve/open-audit-log.js';
import { tempDir } from '../ledger/helpers.js';

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
    expect(() => loadConfig({ env: {}, overrides: { audit: { hash_thread: 'yes' } } })).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        message: expect.stringContaining('sigil.audit.hash_thread'),
      }),
    );
  });

  it('maps durability, checkpoint interval and origin (default <trust domain>/sigil/audit)', async () => {
    const config = loadConfig({
      env: {},
      overrides: {
        data_dir: t.dir,
        issuer: { spiffe_trust_domain: 'example.org' },
        audit: { durability: 'fast', checkpoint_interval: 7 },
      },
    });
    expect(auditLogOptions(config)).toEqual({
      durability: 'fast',
      checkpointIntervalSec: 7,
      origin: 'example.org/sigil/audit',
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
});
