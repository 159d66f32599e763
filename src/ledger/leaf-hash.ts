/** RFC 6962 §2.1 leaf hash (browser-safe). */
import { badArgument } from './errors.js';
import { hashLeaf } from './lib/hash.js';

/**
 * Merkle leaf hash of one log entry: SHA-256(0x00 ‖ data) (RFC 9162 §2.1.1).
 * @throws LedgerError `LEDGER_BAD_ARGUMENT` when `data` is not a Uint8Array.
 */
export function leafHash(data: Uint8Array): Uint8Array {
  if (!(data instanceof Uint8Array)) throw badArgument('leaf data must be a Uint8Array');
  return hashLeaf(data);
}
