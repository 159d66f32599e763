/** `ca_file` config keys → the PEM a remote source pins for its TLS (docs/keys.md §Remote sources). */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/index.js';

/**
 * The PEM CA certificate(s) in `file` (config key `key`), read and parsed now so a missing or bad file fails
 * start-up naming the key. Read once: replacing the CA needs a restart.
 */
export function readCaFile(key: string, file: string): string {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError('CONFIG_UNREADABLE', `config ${key}: ${(e as Error).message}`, { cause: e });
  }
  try {
    new X509Certificate(pem); // at least one parsable certificate
  } catch (e) {
    throw new ConfigError('CONFIG_INVALID', `config ${key}: not a PEM certificate`, { cause: e });
  }
  return pem;
}
