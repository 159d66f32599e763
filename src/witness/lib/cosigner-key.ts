/**
 * Ed25519 cosigner keys (c2sp.org/tlog-cosignature §Format), browser-safe: key ID =
 * SHA-256(name ‖ "\n" ‖ 0x04 ‖ 32-byte public key)[:4], and the vkey form
 * `<name>+<hex key ID>+<base64(0x04 ‖ public key)>` (c2sp.org/signed-note §Verifier keys).
 */
import { formatVerifierKey, isKeyName, noteKeyId, parseVerifierKey } from '../../ledger/browser.js';
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

/** Key names: non-empty, no white space, '+' or control character (c2sp.org/signed-note §Format). */
export const isCosignerName = isKeyName;

/** SHA-256(name ‖ 0x0A ‖ 0x04 ‖ pubkey)[:4] (tlog-cosignature §Format). */
export const cosignerKeyId = (name: string, publicKey: Uint8Array): Uint8Array =>
  noteKeyId(name, publicKey, COSIGNATURE_V1);

/** `<name>+<hex key ID>+<base64(0x04 ‖ pubkey)>`. */
export const formatCosignerKey = (name: string, publicKey: Uint8Array): string =>
  formatVerifierKey(name, publicKey, COSIGNATURE_V1);

/**
 * Parses a cosigner vkey; only type 0x04 (Ed25519 cosignature/v1) is accepted, and the key ID must match
 * the one recomputed from name and key (the signed-note vkey rules, shared with the ledger's note keys).
 * @throws WitnessError `WITNESS_BAD_REQUEST`.
 */
export function parseCosignerKey(vkey: string): CosignerKey {
  const key = parseVerifierKey(
    vkey,
    COSIGNATURE_V1,
    (why) => new WitnessError('WITNESS_BAD_REQUEST', `bad cosigner key: ${why}`),
  );
  return { ...key, vkey };
}

/**
 * The signed message of an Ed25519 cosignature (tlog-cosignature §Ed25519 signed message):
 * `cosignature/v1\ntime <t>\n` followed by the checkpoint note body (with its final newline).
 */
export function cosignedMessage(time: bigint, body: string): Uint8Array {
  return new TextEncoder().encode(`cosignature/v1\ntime ${time}\n${body}`);
}
