/**
 * Opens the audit log the way `sigil serve` and the CLI configure it: the one place `sigil.audit` is
 * mapped to {@link MerkleLogOptions} (the ledger itself reads no app config).
 */
import { join } from 'node:path';
import type { SigilConfig } from '../config/index.js';
import { MerkleLog, type MerkleLogOptions } from '../ledger/index.js';

/**
 * The options of `sigil.audit`: durability, checkpoint interval, origin (default
 * `<trust domain>/sigil/audit`) and the tree hasher thread (`auto` = the log's default).
 */
export function auditLogOptions(config: SigilConfig): MerkleLogOptions {
  return {
    durability: config.audit.durability,
    checkpointIntervalSec: config.audit.checkpoint_interval,
    origin: config.audit.origin ?? `${config.issuer.spiffe_trust_domain}/sigil/audit`,
    ...(config.audit.hash_thread === 'auto' ? {} : { hashThread: config.audit.hash_thread === 'on' }),
  };
}

/** Opens `<data_dir>/ledger` with {@link auditLogOptions}, then `overrides`. */
export function openAuditLog(config: SigilConfig, overrides: MerkleLogOptions = {}): Promise<MerkleLog> {
  return MerkleLog.open(join(config.data_dir, 'ledger'), { ...auditLogOptions(config), ...overrides });
}
