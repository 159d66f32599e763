/**
 * Making Ed25519 cosignature/v1 signature lines (c2sp.org/tlog-cosignature) with a key held by the node.
 */
import { createPrivateKey, type JsonWebKey, type KeyObject, sign } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { b64encode } from '../ledger/browser.js';
import { writeFileAtomic } from '../lib/atomic-write.js';
import { generateEd25519 } from '../lib/ed25519-key.js';
import { WitnessError } from './errors.js';
import { cosignedMessage, cosignerKeyId, formatCosignerKey, isCosignerName } from './lib/cosigner-key.js';

/** An Ed25519 cosigner: its name, key ID, vkey and private key. */
export interface Cosigner {
  name: string;
  keyId: Uint8Array;
  publicKey: Uint8Array;
  /** `<name>+<hex id>+<base64(0x04 ‖ pubkey)>`: what logs and verifiers are configured with. */
  vkey: string;
  privateKey: KeyObject;
}

/** Builds a cosigner from an Ed25519 private key. @throws WitnessError `WITNESS_BAD_REQUEST`. */
export function cosigner(name: string, privateKey: KeyObject): Cosigner {
  if (!isCosignerName(name)) throw new WitnessError('WITNESS_BAD_REQUEST', `invalid cosigner name "${name}"`);
  const jwk = privateKey.export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string')
    throw new WitnessError('WITNESS_BAD_REQUEST', 'cosigner key must be Ed25519');
  const publicKey = new Uint8Array(Buffer.from(jwk.x, 'base64url'));
  return {
    name,
    keyId: cosignerKeyId(name, publicKey),
    publicKey,
    vkey: formatCosignerKey(name, publicKey),
    privateKey,
  };
}

/**
 * Loads the Ed25519 private JWK at `file`, creating it (0600, never overwriting) on first use.
 * @throws WitnessError `WITNESS_IO`.
 */
export function loadOrCreateCosigner(file: string, name: string): Cosigner {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new WitnessError('WITNESS_IO', `cannot read ${file}`, e);
    const { privateKey } = generateEd25519();
    try {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      const created = writeFileAtomic(
        file,
        `${JSON.stringify(privateKey.export({ format: 'jwk' }))}\n`,
        0o600,
        true,
      );
      return created ? cosigner(name, privateKey) : loadOrCreateCosigner(file, name);
    } catch (e2) {
      throw new WitnessError('WITNESS_IO', `cannot write ${file}`, e2);
    }
  }
  try {
    const jwk = JSON.parse(text) as JsonWebKey;
    return cosigner(name, createPrivateKey({ key: jwk, format: 'jwk' }));
  } catch (e) {
    if (e instanceof WitnessError) throw e;
    throw new WitnessError('WITNESS_IO', `cosigner key ${file} is unreadable`, e);
  }
}

/**
 * One cosignature line over checkpoint note body `body` (text only, ending in a newline) at POSIX time
 * `time` (seconds; tlog-witness: never zero): `— <name> base64(keyID ‖ u64be time ‖ Ed25519 sig)\n`
 * (tlog-cosignature §Format, `timestamped_signature`; §Ed25519 signed message).
 */
export function cosign(body: string, signer: Cosigner, time: number): string {
  if (!Number.isSafeInteger(time) || time <= 0)
    throw new WitnessError('WITNESS_BAD_REQUEST', 'cosignature time must be a positive integer');
  const t = BigInt(time);
  const sig = sign(null, cosignedMessage(t, body), signer.privateKey);
  const raw = new Uint8Array(4 + 8 + 64);
  raw.set(signer.keyId, 0);
  new DataView(raw.buffer).setBigUint64(4, t, false);
  raw.set(sig, 12);
  return `\u2014 ${signer.name} ${b64encode(raw)}\n`;
}
