/** Decoding (with validation) of any canonical ledger record: decision or lifecycle entry. Browser-safe. */
import { LedgerError } from './errors.js';
import { entryJson, validateEntry } from './lib/lifecycle-schema.js';
import type { LedgerRecord } from './record.js';

const dec = new TextDecoder('utf-8', { fatal: true });

/** Largest record accepted (as decodeRecord). */
const MAX_RECORD_BYTES = 64 * 1024;

/**
 * Parses canonical record bytes into a {@link LedgerRecord}: a lifecycle entry when `kind` is a lifecycle kind
 * (docs/ledger.md §4 "Lifecycle entries"), else a decision record exactly as {@link decodeRecord}. Only the
 * canonical encoding of what the bytes parse to is accepted.
 * @throws LedgerError `LEDGER_RECORD_INVALID`.
 */
export function decodeEntry(bytes: Uint8Array): LedgerRecord {
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
  const record = validateEntry(parsed);
  if (entryJson(record) !== text)
    throw new LedgerError('LEDGER_RECORD_INVALID', 'record is not in canonical form');
  return record;
}
