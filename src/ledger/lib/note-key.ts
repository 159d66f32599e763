/**
 * C2SP signed-note text rules and Ed25519 key identity (browser-safe): key ID = SHA-256(name ‖ 0x0A ‖
 * 0x01 ‖ pubkey)[:4] and the verifier key string `<name>+<hex key ID>+<base64(0x01 ‖ pubkey)>`
 * (c2sp.org/signed-note §Signatures, §Ed25519 signatures; the vkey form is golang.org/x/mod/sumdb/note's).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { LedgerError } from '../errors.js';
import { b64decode, b64encode, hex } from './b64.js';

/** Signature type byte for Ed25519 (c2sp.org/signed-note §Signature types). */
const SIG_ED25519 = 0x01;

/** A parsed Ed25519 note verifier. */
export interface NoteVerifier {
  name: string;
  /** 4-byte key ID, big-endian. */
  keyId: Uint8Array;
  /** 32-byte Ed25519 public key. */
  publicKey: Uint8Array;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const CONTROL = /[\u0000-\u0009\u000b-\u001f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: key names hold no control characters.
const NOT_IN_KEY_NAME = /[\s+\u0000-\u001f]/u;

/** True when `s` holds an ASCII control character (U+0000–U+001F) other than newline (U+000A). */
export const hasControlChar = (s: string): boolean => CONTROL.test(s);

/** Key names: non-empty, no Unicode white space, '+' or control character (c2sp.org/signed-note §Format). */
export function isKeyName(name: string): boolean {
  return typeof name === 'string' && name.length > 0 && name.length <= 1024 && !NOT_IN_KEY_NAME.test(name);
}

/**
 * SHA-256(name ‖ 0x0A ‖ type ‖ pubkey)[:4]; `type` is the signature type byte (0x01 Ed25519 note signatures,
 * 0x04 Ed25519 cosignature/v1: c2sp.org/tlog-cosignature §Format).
 */
export function noteKeyId(name: string, publicKey: Uint8Array, type = SIG_ED25519): Uint8Array {
  const n = new TextEncoder().encode(name);
  const buf = new Uint8Array(n.length + 2 + publicKey.length);
  buf.set(n, 0);
  buf[n.length] = 0x0a;
  buf[n.length + 1] = type;
  buf.set(publicKey, n.length + 2);
  return sha256(buf).subarray(0, 4);
}

/** `<name>+<hex keyid>+<base64(type ‖ pubkey)>`. */
export function formatVerifierKey(name: string, publicKey: Uint8Array, type = SIG_ED25519): string {
  const typed = new Uint8Array(33);
  typed[0] = type;
  typed.set(publicKey, 1);
  return `${name}+${hex(noteKeyId(name, publicKey, type))}+${b64encode(typed)}`;
}

/**
 * Parses a verifier key string. Only 32-byte Ed25519 keys of signature type `type` (default 0x01) are
 * accepted, and the key ID must match the one recomputed from name and key. `bad` makes the error a caller's
 * own (the witness module's cosigner keys).
 * @throws LedgerError `LEDGER_NOTE_MALFORMED`, or what `bad` returns.
 */
export function parseVerifierKey(
  vkey: string,
  type = SIG_ED25519,
  bad: (why: string) => Error = (why) => new LedgerError('LEDGER_NOTE_MALFORMED', `bad verifier key: ${why}`),
): NoteVerifier {
  if (typeof vkey !== 'string' || vkey.length > 2048) throw bad('not a string');
  // The name holds no '+', but the base64 key may: split at the first two only.
  const p1 = vkey.indexOf('+');
  const p2 = p1 < 0 ? -1 : vkey.indexOf('+', p1 + 1);
  if (p2 < 0) throw bad('want <name>+<keyid>+<key>');
  const name = vkey.slice(0, p1);
  const id = vkey.slice(p1 + 1, p2);
  const key = vkey.slice(p2 + 1);
  if (!isKeyName(name)) throw bad('invalid key name');
  if (!/^[0-9a-f]{8}$/.test(id)) throw bad('key id must be 8 lowercase hex digits');
  const typed = b64decode(key) ?? new Uint8Array(0);
  if (typed.length !== 33) throw bad('key must be base64 of 33 bytes');
  if (typed[0] !== type)
    throw bad(
      type === SIG_ED25519
        ? 'only Ed25519 (type 0x01) keys are supported'
        : `key type must be 0x${hex(Uint8Array.of(type))}, not 0x${hex(typed.subarray(0, 1))}`,
    );
  const publicKey = typed.slice(1);
  const keyId = noteKeyId(name, publicKey, type);
  if (hex(keyId) !== id) throw bad('key id does not match name and key');
  return { name, keyId, publicKey };
}
