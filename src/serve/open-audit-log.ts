/**
 * Opens the audit log the way `sigil serve` and the CLI configure it: the one place `sigil.audit` is
 * mapped to {@link MerkleLogOptions} (the ledger itself reads no app config).
 */
import { join } from 'node:path';
import type { SigilConfig } from '../config/index.js';
import { MerkleLog, type MerkleLogOptions } from '../ledger/index.js';

/**
 * The options of `sigil.audit`: durability, checkpoint interval, origin (default
 * `<trust domain>/sigil/audit`), the tree hasher thread (`auto` = the log's default) and retention
 * (archive default `<data_dir>/archive`; no retention = no compaction).
 */
export function auditLogOptions(config: SigilConfig): MerkleLogOptions {
  return {
    durability: config.audit.durability,
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

/** Opens `<data_dir>/ledger` with {@link auditLogOptions}, then `overrides`. */
export function openAuditLog(config: SigilConfig, overrides: MerkleLogOptions = {}): Promise<MerkleLog> {
  return MerkleLog.open(join(config.data_dir, 'ledger'), { ...auditLogOptions(config), ...overrides });
}
