/** Canonical encoding of any ledger record (decision or lifecycle entry). Browser-safe. */
import { entryJson, validateEntry } from './lib/lifecycle-schema.js';
import type { LedgerRecord } from './record.js';

const enc = new TextEncoder();

/**
 * Validates `record` (a lifecycle entry by its `kind`, else a decision) and returns its canonical bytes
 * (docs/ledger.md §4).
 * @throws LedgerError `LEDGER_RECORD_INVALID`.
 */
export function encodeEntry(record: LedgerRecord): Uint8Array {
  return enc.encode(entryJson(validateEntry(record)));
}
