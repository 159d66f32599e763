/**
 * Ed25519 verification with node:crypto for the server-side paths (witness endpoint, witness client): the
 * browser-safe verifiers use @noble/ed25519 (pure JS, ~40× slower), which capped one witness at the cost of
 * its signature checks (bench/NOTES.md, issue #26).
 */
import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import type { NoteVerifier } from '../../ledger/browser.js';
import { b64decode } from '../../ledger/browser.js';
import type { Ed25519Verify } from '../verify-cosigned.js';
import { splitNote } from '../verify-cosigned.js';

const keys = new Map<string, KeyObject>();

/** `verify(sig, msg, publicKey)` with node:crypto (OpenSSL's RFC 8032 Ed25519); public keys are cached. */
export const nodeVerify: Ed25519Verify = (sig, msg, publicKey) => {
  const id = Buffer.from(publicKey).toString('base64url');
  let key = keys.get(id);
  if (!key) {
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: id }, format: 'jwk' });
    if (keys.size > 1024) keys.clear();
    keys.set(id, key);
  }
  try {
    return sig.length === 64 && verify(null, msg, key, sig);
  } catch {
    return false;
  }
};

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const CONTROL = /[\u0000-\u0009\u000b-\u001f]/;

/**
 * The log-signature check of a submitted checkpoint (c2sp.org/signed-note §Signatures, tlog-witness:
 * "MUST ignore signatures from unknown keys"): `malformed` for syntax, `bad` when no trusted key's signature
 * verifies or a trusted key's signature fails, else `ok`.
 */
export function checkLogSignature(
  note: string,
  trusted: readonly NoteVerifier[],
): 'ok' | 'bad' | 'malformed' {
  if (CONTROL.test(note) || /\p{Surrogate}/u.test(note)) return 'malformed';
  let split: { text: string; lines: string[] };
  try {
    split = splitNote(note);
  } catch {
    return 'malformed';
  }
  const msg = new TextEncoder().encode(split.text);
  let verified = false;
  for (const line of split.lines) {
    const m = /^\u2014 (\S+) (\S+)$/u.exec(line);
    const raw = m ? b64decode(m[2] as string) : null;
    if (!m || !raw || raw.length < 5) return 'malformed';
    const key = trusted.find((k) => k.name === m[1] && k.keyId.every((b, i) => raw[i] === b));
    if (!key) continue;
    if (raw.length !== 68 || !nodeVerify(raw.subarray(4), msg, key.publicKey)) return 'bad';
    verified = true;
  }
  return verified ? 'ok' : 'bad';
}
