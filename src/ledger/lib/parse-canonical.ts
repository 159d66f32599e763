/** The shared part of the record decoders: bytes → JSON → validated record, in canonical form only. Browser-safe. */
import { LedgerError } from '../errors.js';

const dec = new TextDecoder('utf-8', { fatal: true });

/** Largest record accepted (a record is small; this bounds parser work on hostile input). */
const MAX_RECORD_BYTES = 64 * 1024;

/**
 * Parses `bytes` as UTF-8 JSON, validates it with `validate` and accepts it only if `canonical` of the result is
 * exactly the input text (one accepted encoding per record, docs/ledger.md §4).
 * @throws LedgerError `LEDGER_RECORD_INVALID`.
 */
export function parseCanonical<T>(
  bytes: Uint8Array,
  validate: (x: unknown) => T,
  canonical: (r: T) => string,
): T {
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
  const record = validate(parsed);
  if (canonical(record) !== text)
    throw new LedgerError('LEDGER_RECORD_INVALID', 'record is not in canonical form');
  return record;
}
