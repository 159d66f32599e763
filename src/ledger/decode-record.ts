/** Decoding (with validation) of canonical DecisionRecord bytes. Browser-safe. */
import { parseCanonical } from './lib/parse-canonical.js';
import { recordJson } from './lib/record-json.js';
import { validateRecord } from './lib/record-schema.js';
import type { DecisionRecord } from './record.js';

/**
 * Parses canonical record bytes back into a DecisionRecord. Rejects invalid UTF-8, non-JSON, unknown or
 * ill-typed fields, and any byte string that is not the canonical encoding of the record it parses to
 * (so one record has exactly one accepted encoding).
 * @throws LedgerError `LEDGER_RECORD_INVALID`.
 */
export function decodeRecord(bytes: Uint8Array): DecisionRecord {
  return parseCanonical(bytes, validateRecord, recordJson);
}
