/**
 * The writer lock around writable opens of the audit log (docs/ledger.md §2 "Readers next to a writer", §4
 * "One sequencer"): one writer at a time; read-only opens never wait for it; a failed open releases it.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, type SigilConfig } from '../../src/config/index.js';
import { openAuditLog } from '../../src/serve/open-audit-log.js';
import { lockPath, takeWriterLock } from '../../src/serve/writer-lock.js';
import { record, tempDir } from '../ledger/helpers.js';

const codeOf = (p: Promise<unknown>): Promise<string | undefined> =>
  p.then(
    () => undefined,
    (e: unknown) => (e as { code?: string }).code,
  );

let t: { dir: string; cleanup: () => void };
let config: SigilConfig;
beforeEach(() => {
  t = tempDir();
  config = loadConfig({ env: {}, overrides: { data_dir: t.dir, audit: { checkpoint_interval: 0 } } });
});
afterEach(() => t.cleanup());

describe('openAuditLog and the writer lock', () => {
  it('a writable open holds the lock until close; a second writable open is LEDGER_LOCKED', async () => {
    const log = await openAuditLog(config);
    expect(existsSync(lockPath(config))).toBe(true);
    await log.appendDecision(record(0));
    await log.caughtUp(); // journaled: LMDB, which readers see, takes it a few ms later
    expect(await codeOf(openAuditLog(config))).toBe('LEDGER_LOCKED');
    // Read-only opens (verify, query, the dashboard's reads) are not writers.
    const reader = await openAuditLog(config, { readOnly: true });
    expect(reader.size).toBe(1);
    await reader.close();
    await log.close();
    expect(existsSync(lockPath(config))).toBe(false);
    const again = await openAuditLog(config);
    expect(again.size).toBe(1);
    await again.close();
  });

  it('the error carries its protocol meaning and names the lock', async () => {
    const release = await takeWriterLock(config, 0, () => {});
    expect(release).toBeDefined();
    const err = await openAuditLog(config).then(
      () => undefined,
      (e: unknown) => e as { code: string; grpcStatus: number; httpStatus: number; message: string },
    );
    expect(err).toMatchObject({ code: 'LEDGER_LOCKED', grpcStatus: 9, httpStatus: 409 });
    expect(err?.message).toContain(lockPath(config));
    // 'held': the caller (sigil serve, a direct lifecycle append) holds it already.
    const log = await openAuditLog(config, {}, 'held');
    await log.close();
    await release?.();
  });

  it('a writable open that fails releases the lock', async () => {
    mkdirSync(join(t.dir, 'ledger'), { recursive: true });
    writeFileSync(join(t.dir, 'ledger', 'ledger.mdb'), Buffer.alloc(64 * 1024, 0x5a));
    expect(await codeOf(openAuditLog(config))).toBe('LEDGER_CORRUPT');
    expect(existsSync(lockPath(config))).toBe(false);
  });
});
