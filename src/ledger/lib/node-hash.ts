/**
 * The same RFC 6962 §2.1 hash functions as lib/hash.ts on node:crypto (OpenSSL), for the server's
 * hot path (append, verify). Never imported by browser-safe modules.
 */
import { createHash } from 'node:crypto';

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

/** SHA-256(0x00 ‖ data) via OpenSSL. */
export function nodeHashLeaf(data: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF).update(data).digest();
}

/** SHA-256(0x01 ‖ left ‖ right) via OpenSSL. */
export function nodeHashNode(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(NODE).update(left).update(right).digest();
}
