/**
 * C2SP signed-note signing with an Ed25519 key held by the node (node:crypto). Spec: c2sp.org/signed-note.
 */
import { createPrivateKey, type JsonWebKey, type KeyObject, sign } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../lib/atomic-write.js';
import { generateEd25519 } from '../lib/ed25519-key.js';
import { LedgerError } from './errors.js';
import { b64encode } from './lib/b64.js';
import { formatVerifierKey, hasControlChar, isKeyName, noteKeyId } from './lib/note-key.js';

/** An Ed25519 note signer. */
export interface NoteSigner {
  name: string;
  keyId: Uint8Array;
  publicKey: Uint8Array;
  /** `<name>+<hex id>+<base64(0x01 ‖ pubkey)>`, what verifiers are configured with. */
  verifierKey: string;
  privateKey: KeyObject;
}

/** Builds a signer from an Ed25519 private KeyObject. */
export function noteSigner(name: string, privateKey: KeyObject): NoteSigner {
  if (!isKeyName(name)) throw new LedgerError('LEDGER_BAD_ARGUMENT', `invalid note key name "${name}"`);
  const jwk = privateKey.export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string')
    throw new LedgerError('LEDGER_BAD_ARGUMENT', 'checkpoint key must be Ed25519');
  const publicKey = new Uint8Array(Buffer.from(jwk.x, 'base64url'));
  return {
    name,
    keyId: noteKeyId(name, publicKey),
    publicKey,
    verifierKey: formatVerifierKey(name, publicKey),
    privateKey,
  };
}

/**
 * Loads the Ed25519 private JWK at `file`, creating it (mode 0600, never overwriting) on first use.
 * @throws LedgerError `LEDGER_IO` (file system) or `LEDGER_CORRUPT` (unreadable key file).
 */
export function loadOrCreateSigner(file: string, name: string, create = true): NoteSigner {
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new LedgerError('LEDGER_IO', `cannot read ${file}`, e);
  }
  if (text === undefined) {
    if (!create) throw new LedgerError('LEDGER_NOT_FOUND', `no checkpoint key at ${file}`);
    const { privateKey } = generateEd25519();
    const jwk = `${JSON.stringify(privateKey.export({ format: 'jwk' }))}\n`;
    let created: boolean;
    try {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      // Exclusive and atomic: a crash never leaves half a key, and a concurrent creator's key wins.
      created = writeFileAtomic(file, jwk, 0o600, true);
    } catch (e) {
      throw new LedgerError('LEDGER_IO', `cannot write ${file}`, e);
    }
    return created ? noteSigner(name, privateKey) : loadOrCreateSigner(file, name);
  }
  try {
    const jwk = JSON.parse(text) as Record<string, unknown>;
    if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.d !== 'string')
      throw new Error('not an Ed25519 private JWK');
    return noteSigner(name, createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' }));
  } catch (e) {
    if (e instanceof LedgerError) throw e;
    throw new LedgerError(
      'LEDGER_CORRUPT',
      `checkpoint key ${file} is unreadable: ${(e as Error).message}`,
      e,
    );
  }
}

/**
 * Signs note `text` (which must end in a newline): returns `text ‖ "\n" ‖ "— <name> base64(keyid ‖ sig)\n"`.
 */
export function signNote(text: string, signer: NoteSigner): string {
  if (!text.endsWith('\n') || hasControlChar(text)) {
    throw new LedgerError(
      'LEDGER_BAD_ARGUMENT',
      'note text must end in a newline and hold no control characters',
    );
  }
  const sig = sign(null, Buffer.from(text, 'utf8'), signer.privateKey);
  const raw = Buffer.concat([signer.keyId, sig]);
  return `${text}\n\u2014 ${signer.name} ${b64encode(raw)}\n`;
}
