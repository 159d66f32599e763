/** Opens the audit log the way `sigil serve` and the CLI configure it. */
import { join } from 'node:path';
import type { SigilConfig } from '../config/index.js';
import { MerkleLog, type MerkleLogOptions } from './merkle-log.js';

/**
 * Opens `<data_dir>/ledger` with `sigil.audit` settings: durability, checkpoint interval, origin
 * (default `<trust domain>/sigil/audit`) and the tree hasher thread (`auto` = the log's default).
 */
export function openAuditLog(config: SigilConfig, overrides: MerkleLogOptions = {}): Promise<MerkleLog> {
  return MerkleLog.open(join(config.data_dir, 'ledger'), {
    durability: config.audit.durability,
    checkpointIntervalSec: config.audit.checkpoint_interval,
    origin: config.audit.origin ?? `${config.issuer.spiffe_trust_domain}/sigil/audit`,
    ...(config.audit.hash_thread === 'auto' ? {} : { hashThread: config.audit.hash_thread === 'on' }),
    ...overrides,
  });
}
