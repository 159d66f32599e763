/** Decoding (with validation) of any canonical ledger record: decision or lifecycle entry. Browser-safe. */
import { entryJson, validateEntry } from './lib/lifecycle-schema.js';
import { parseCanonical } from './lib/parse-canonical.js';
import type { LedgerRecord } from './record.js';

/**
 * Parses canonical record bytes into a {@link LedgerRecord}: a lifecycle entry when `kind` is a lifecycle kind
 * (docs/ledger.md §4 "Lifecycle entries"), else a decision record exactly as {@link decodeRecord}. Only the
 * canonical encoding of what the bytes parse to is accepted.
 * @throws LedgerError `LEDGER_RECORD_INVALID`.
 */
export function decodeEntry(bytes: Uint8Array): LedgerRecord {
  return parseCanonical(bytes, validateEntry, entryJson);
}
