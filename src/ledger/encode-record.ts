/** Canonical encoding of a DecisionRecord (docs/ledger.md §Decision records). Browser-safe. */
import { recordJson } from './lib/record-json.js';
import { validateRecord } from './lib/record-schema.js';
import type { DecisionRecord } from './record.js';

const enc = new TextEncoder();

/**
 * Validates `record` and returns its canonical bytes: UTF-8 of deterministic JSON (sorted keys,
 * no whitespace, integers only). The same record always yields the same bytes, hence the same leaf hash.
 * @throws LedgerError `LEDGER_RECORD_INVALID` on any field outside the DecisionRecord contract.
 */
export function encodeRecord(record: DecisionRecord): Uint8Array {
  return enc.encode(recordJson(validateRecord(record)));
}
