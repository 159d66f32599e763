/**
 * C2SP signed-note verification with Ed25519 (browser-safe: @noble/ed25519 + @noble/hashes).
 * Spec: c2sp.org/signed-note §Format and §Signatures.
 */
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { LedgerError } from './errors.js';
import { b64decode } from './lib/b64.js';
import { equalBytes } from './lib/hash.js';
import { hasControlChar, type NoteVerifier, parseVerifierKey } from './lib/note-key.js';

// @noble/ed25519 v3 needs a synchronous SHA-512 for `verify`; the audited @noble/hashes one is used.
if (!ed.hashes.sha512) ed.hashes.sha512 = sha512;

/** Largest note accepted (bounds work on hostile input; a checkpoint is ~150 bytes). */
const MAX_NOTE_BYTES = 64 * 1024;
/** Most signature lines accepted; the spec requires accepting at least 16. */
const MAX_SIGNATURES = 64;

/** Result of a successful note verification. */
export interface VerifiedNote {
  /** The note text, including its final newline. */
  text: string;
  /** Name of the trusted key whose signature verified. */
  keyName: string;
}

/**
 * Verifies `note` against one or more trusted verifier keys (strings `<name>+<id>+<key>` or parsed).
 * Signatures from unknown keys are ignored; a signature from a known key that fails rejects the whole
 * note; no verified known signature rejects it (c2sp.org/signed-note §Signatures).
 * @throws LedgerError `LEDGER_NOTE_MALFORMED` (syntax) or `LEDGER_SIGNATURE_INVALID`.
 */
export function verifyNote(
  note: string,
  keys: string | NoteVerifier | ReadonlyArray<string | NoteVerifier>,
): VerifiedNote {
  const malformed = (why: string) => new LedgerError('LEDGER_NOTE_MALFORMED', `malformed note: ${why}`);
  const trusted = (Array.isArray(keys) ? keys : [keys]).map((k) =>
    typeof k === 'string' ? parseVerifierKey(k) : k,
  );
  if (typeof note !== 'string') throw malformed('not a string');
  const bytes = new TextEncoder().encode(note);
  if (bytes.length > MAX_NOTE_BYTES) throw malformed('too large');
  // A lone surrogate cannot be encoded as UTF-8.
  if (/\p{Surrogate}/u.test(note)) throw malformed('not valid UTF-8');
  // Only newline among the ASCII control characters (§Format).
  if (hasControlChar(note)) throw malformed('control character');
  if (!note.endsWith('\n')) throw malformed('must end with a newline');
  // The text is separated from the signatures by the LAST empty line.
  const sep = note.lastIndexOf('\n\n');
  if (sep < 0) throw malformed('no blank line before signatures');
  const text = note.slice(0, sep + 1);
  const sigBlock = note.slice(sep + 2);
  const lines = sigBlock.slice(0, -1).split('\n');
  if (lines.length === 0 || lines.length > MAX_SIGNATURES) throw malformed('bad number of signature lines');
  const msg = new TextEncoder().encode(text);
  let verifiedBy: string | undefined;
  for (const line of lines) {
    const m = /^\u2014 (\S+) (\S+)$/u.exec(line);
    if (!m) throw malformed('bad signature line');
    const [, name, b64] = m as unknown as [string, string, string];
    const raw = b64decode(b64);
    if (!raw || raw.length < 5) throw malformed('bad signature encoding');
    const id = raw.subarray(0, 4);
    const key = trusted.find((k) => k.name === name && equalBytes(k.keyId, id));
    if (!key) continue; // unknown key: ignored
    const sig = raw.subarray(4);
    let ok = false;
    try {
      ok = sig.length === 64 && ed.verify(sig, msg, key.publicKey, { zip215: false });
    } catch {
      ok = false;
    }
    if (!ok) throw new LedgerError('LEDGER_SIGNATURE_INVALID', `signature by ${name} does not verify`);
    verifiedBy ??= name;
  }
  if (verifiedBy === undefined)
    throw new LedgerError('LEDGER_SIGNATURE_INVALID', 'no signature by a trusted key');
  return { text, keyName: verifiedBy };
}
