/** Decoding (with validation) of canonical DecisionRecord bytes. Browser-safe. */
import { LedgerError } from './errors.js';
import { recordJson } from './lib/record-json.js';
import { validateRecord } from './lib/record-schema.js';
import type { DecisionRecord } from './record.js';

const dec = new TextDecoder('utf-8', { fatal: true });

/** Largest record accepted (a record is small; this bounds parser work on hostile input). */
const MAX_RECORD_BYTES = 64 * 1024;

/**
 * Parses canonical record bytes back into a DecisionRecord. Rejects invalid UTF-8, non-JSON, unknown or
 * ill-typed fields, and any byte string that is not the canonical encoding of the record it parses to
 * (so one record has exactly one accepted encoding).
 * @throws LedgerError `LEDGER_RECORD_INVALID`.
 */
export function decodeRecord(bytes: Uint8Array): DecisionRecord {
  if (!(bytes instanceof Uint8Array)) throw new LedgerError('LEDGER_RECORD_INVALID', 'record must be bytes');
  if (bytes.length > MAX_RECORD_BYTES) throw new LedgerError('LEDGER_RECORD_INVALID', 'record too large');
  let text: string;
  let parsed: unknown;
  try {
    text = dec.decode(bytes);
    parsed = JSON.parse(text);
  } catch (e) {
    throw new LedgerError('LEDGER_RECORD_INVALID', 'record is not UTF-8 JSON', e);
  }
  const record = validateRecord(parsed);
  if (recordJson(record) !== text)
    throw new LedgerError('LEDGER_RECORD_INVALID', 'record is not in canonical form');
  return record;
}
