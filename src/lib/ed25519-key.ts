/**
 * Fresh Ed25519 keys without node:crypto's key-generation job. On Node 20, exporting a key made by
 * `generateKeyPair[Sync]('ed25519')` as a JWK can deadlock: the export holds the key's lock, allocates, a GC
 * runs the finished job's destructor (`~KeyGenJob`), which takes the same lock. The issuer exports every new
 * key; a key imported from a random seed has no job behind it (test/slow/keygen-export.test.ts).
 */
import { createPrivateKey, createPublicKey, type KeyObject, randomBytes } from 'node:crypto';

/**
 * DER prefix of an Ed25519 PKCS #8 OneAsymmetricKey (RFC 8410 §7, RFC 5958): SEQUENCE { version 0,
 * AlgorithmIdentifier { id-Ed25519 1.3.101.112 }, OCTET STRING { OCTET STRING (32-byte seed) } }.
 */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** A new Ed25519 key pair from 32 bytes of the CSPRNG (RFC 8032 §5.1.5: the private key is the seed). */
export function generateEd25519(): { privateKey: KeyObject; publicKey: KeyObject } {
  const seed = randomBytes(32);
  try {
    return ed25519FromSeed(seed);
  } finally {
    seed.fill(0);
  }
}

/** The Ed25519 key pair of a 32-byte seed (RFC 8032 §5.1.5), imported as PKCS #8 (RFC 8410 §7). */
export function ed25519FromSeed(seed: Uint8Array): { privateKey: KeyObject; publicKey: KeyObject } {
  if (seed.length !== 32) throw new RangeError('an Ed25519 seed is 32 bytes');
  const der = Buffer.concat([PKCS8_PREFIX, seed]);
  try {
    const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    return { privateKey, publicKey: createPublicKey(privateKey) };
  } finally {
    der.fill(0); // the seed lives on only inside the KeyObject
  }
}
