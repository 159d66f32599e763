/** C2SP tlog-checkpoint note text (browser-safe). Spec: c2sp.org/tlog-checkpoint §Note text. */
import { LedgerError } from './errors.js';
import { b64decode, b64encode } from './lib/b64.js';
import { HASH_LEN } from './lib/hash.js';
import type { NoteVerifier } from './lib/note-key.js';
import { verifyNote } from './verify-note.js';

/** The body of a checkpoint. */
export interface Checkpoint {
  /** Log identity (first line). */
  origin: string;
  /** Tree size. */
  size: number;
  /** RFC 6962 root hash at `size`. */
  root: Uint8Array;
  /** Optional extension lines (opaque). */
  extensions: string[];
}

/** `<origin>\n<size>\n<base64 root>\n`. */
export function formatCheckpoint(origin: string, size: number, root: Uint8Array): string {
  return `${origin}\n${size}\n${b64encode(root)}\n`;
}

/**
 * Parses checkpoint note text: at least three non-empty lines — origin, decimal size without leading
 * zeroes, base64 root hash — then optional non-empty extension lines.
 * @throws LedgerError `LEDGER_NOTE_MALFORMED`.
 */
export function parseCheckpoint(text: string): Checkpoint {
  const bad = (why: string) => new LedgerError('LEDGER_NOTE_MALFORMED', `malformed checkpoint: ${why}`);
  if (typeof text !== 'string' || !text.endsWith('\n')) throw bad('must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw bad('needs origin, size and root lines');
  const [origin, sizeLine, rootLine, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin.length === 0) throw bad('empty origin');
  if (!/^(0|[1-9][0-9]{0,15})$/.test(sizeLine)) throw bad('size must be a decimal without leading zeroes');
  const size = Number(sizeLine);
  if (!Number.isSafeInteger(size)) throw bad('size too large');
  const root = b64decode(rootLine);
  if (!root || root.length !== HASH_LEN) throw bad('root must be base64 of 32 bytes');
  if (extensions.some((l) => l.length === 0)) throw bad('empty extension line');
  return { origin, size, root, extensions };
}

/**
 * Verifies a signed checkpoint note with the log's verifier key and parses it. The origin must equal
 * `origin` when given, else the key name (c2sp.org/tlog-checkpoint: the log key is named after the origin).
 * @throws LedgerError `LEDGER_NOTE_MALFORMED`, `LEDGER_SIGNATURE_INVALID`, `LEDGER_ORIGIN_MISMATCH`.
 */
export function openCheckpoint(
  note: string,
  verifierKey: string | NoteVerifier,
  origin?: string,
): Checkpoint {
  const { text, keyName } = verifyNote(note, verifierKey);
  const cp = parseCheckpoint(text);
  const want = origin ?? keyName;
  if (cp.origin !== want)
    throw new LedgerError('LEDGER_ORIGIN_MISMATCH', `checkpoint origin "${cp.origin}" is not "${want}"`);
  return cp;
}
