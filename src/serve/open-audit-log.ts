/**
 * Opens the audit log the way `sigil serve` and the CLI configure it: the one place `sigil.audit` is
 * mapped to {@link MerkleLogOptions} (the ledger itself reads no app config).
 */
import { join } from 'node:path';
import type { SigilConfig } from '../config/index.js';
import { MerkleLog, type MerkleLogOptions } from '../ledger/index.js';
import { ledgerDir, lockedError, takeWriterLock } from './writer-lock.js';

/**
 * The options of `sigil.audit`: durability (and the journal's commit delay), checkpoint interval, origin (default
 * `<trust domain>/sigil/audit`), the tree hasher thread (`auto` = the log's default) and retention
 * (archive default `<data_dir>/archive`; no retention = no compaction).
 */
export function auditLogOptions(config: SigilConfig): MerkleLogOptions {
  return {
    durability: config.audit.durability,
    commitDelayMs: config.audit.commit_delay_ms,
    checkpointIntervalSec: config.audit.checkpoint_interval,
    origin: config.audit.origin ?? `${config.issuer.spiffe_trust_domain}/sigil/audit`,
    archiveDir: config.audit.archive_dir ?? join(config.data_dir, 'archive'),
    ...(config.audit.retention !== undefined
      ? {
          retentionMs: config.audit.retention * 1000,
          compactionIntervalSec: config.audit.compaction_interval,
        }
      : {}),
    ...(config.audit.hash_thread === 'auto' ? {} : { hashThread: config.audit.hash_thread === 'on' }),
  };
}

/**
 * Opens `<data_dir>/ledger` with {@link auditLogOptions}, then `overrides`. A writable open takes the writer
 * lock (`writerLock: 'take'`, the default) for the life of the log, so it never runs next to a live
 * `sigil serve`: a second writer would fail the sidecar's commit guard and, with the journal, start a new
 * journal epoch under it (docs/ledger.md §4 "One sequencer"). `'held'`: the caller holds it already.
 * @throws LedgerError `LEDGER_LOCKED` when another process holds the lock; those of {@link MerkleLog.open}.
 */
export async function openAuditLog(
  config: SigilConfig,
  overrides: MerkleLogOptions = {},
  writerLock: 'take' | 'held' = 'take',
): Promise<MerkleLog> {
  const options = { ...auditLogOptions(config), ...overrides };
  const dir = ledgerDir(config);
  if (options.readOnly || options.forVerify || writerLock === 'held') return MerkleLog.open(dir, options);
  const release = await takeWriterLock(config, 0, () => {});
  if (release === undefined) throw lockedError(config, 'cannot open the ledger for writing');
  let log: MerkleLog;
  try {
    log = await MerkleLog.open(dir, options);
  } catch (e) {
    await release().catch(() => {});
    throw e;
  }
  const close = log.close.bind(log);
  log.close = async () => {
    try {
      await close();
    } finally {
      await release().catch(() => {});
    }
  };
  return log;
}
