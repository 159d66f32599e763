/**
 * Ed25519 cosigner keys (c2sp.org/tlog-cosignature §Format), browser-safe: key ID =
 * SHA-256(name ‖ "\n" ‖ 0x04 ‖ 32-byte public key)[:4], and the vkey form
 * `<name>+<hex key ID>+<base64(0x04 ‖ public key)>` (c2sp.org/signed-note §Verifier keys).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { b64decode, b64encode, hex } from '../../ledger/browser.js';
import { WitnessError } from '../errors.js';

/** Signature type byte of Ed25519 cosignature/v1 (tlog-cosignature §Format). */
export const COSIGNATURE_V1 = 0x04;

/** A parsed Ed25519 cosigner verifier key. */
export interface CosignerKey {
  name: string;
  /** 4-byte key ID. */
  keyId: Uint8Array;
  /** 32-byte Ed25519 public key. */
  publicKey: Uint8Array;
  /** The vkey string. */
  vkey: string;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: key names hold no control characters.
const NOT_IN_KEY_NAME = /[\s+\u0000-\u001f]/u;

/** Key names: non-empty, no white space, '+' or control character (c2sp.org/signed-note §Format). */
export function isCosignerName(name: string): boolean {
  return typeof name === 'string' && name.length > 0 && name.length <= 1024 && !NOT_IN_KEY_NAME.test(name);
}

/** SHA-256(name ‖ 0x0A ‖ 0x04 ‖ pubkey)[:4] (tlog-cosignature §Format). */
export function cosignerKeyId(name: string, publicKey: Uint8Array): Uint8Array {
  const n = new TextEncoder().encode(name);
  const buf = new Uint8Array(n.length + 2 + publicKey.length);
  buf.set(n, 0);
  buf[n.length] = 0x0a;
  buf[n.length + 1] = COSIGNATURE_V1;
  buf.set(publicKey, n.length + 2);
  return sha256(buf).subarray(0, 4);
}

/** `<name>+<hex key ID>+<base64(0x04 ‖ pubkey)>`. */
export function formatCosignerKey(name: string, publicKey: Uint8Array): string {
  const typed = new Uint8Array(33);
  typed[0] = COSIGNATURE_V1;
  typed.set(publicKey, 1);
  return `${name}+${hex(cosignerKeyId(name, publicKey))}+${b64encode(typed)}`;
}

/**
 * Parses a cosigner vkey; only type 0x04 (Ed25519 cosignature/v1) is accepted, and the key ID must match
 * the one recomputed from name and key.
 * @throws WitnessError `WITNESS_BAD_REQUEST`.
 */
export function parseCosignerKey(vkey: string): CosignerKey {
  const bad = (why: string) => new WitnessError('WITNESS_BAD_REQUEST', `bad cosigner key: ${why}`);
  if (typeof vkey !== 'string' || vkey.length > 2048) throw bad('not a string');
  const p1 = vkey.indexOf('+');
  const p2 = p1 < 0 ? -1 : vkey.indexOf('+', p1 + 1);
  if (p2 < 0) throw bad('want <name>+<keyid>+<key>');
  const name = vkey.slice(0, p1);
  const id = vkey.slice(p1 + 1, p2);
  const typed = b64decode(vkey.slice(p2 + 1)) ?? new Uint8Array(0);
  if (!isCosignerName(name)) throw bad('invalid key name');
  if (!/^[0-9a-f]{8}$/.test(id)) throw bad('key id must be 8 lowercase hex digits');
  if (typed.length !== 33) throw bad('key must be base64 of 33 bytes');
  if (typed[0] !== COSIGNATURE_V1)
    throw bad(`key type must be 0x04 (Ed25519 cosignature/v1), not 0x${hex(typed.subarray(0, 1))}`);
  const publicKey = typed.slice(1);
  const keyId = cosignerKeyId(name, publicKey);
  if (hex(keyId) !== id) throw bad('key id does not match name and key');
  return { name, keyId, publicKey, vkey };
}

/**
 * The signed message of an Ed25519 cosignature (tlog-cosignature §Ed25519 signed message):
 * `cosignature/v1\ntime <t>\n` followed by the checkpoint note body (with its final newline).
 */
export function cosignedMessage(time: bigint, body: string): Uint8Array {
  return new TextEncoder().encode(`cosignature/v1\ntime ${time}\n${body}`);
}
