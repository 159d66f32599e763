/**
 * Key files shared by the issuer-key and agent-key stores (docs/keys.md): `<name>.jwk.json`, mode 0600,
 * holding `{kid, created_at, jwk}` (agent files add `spiffe_id`). Files are immutable once written.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { generateEd25519 } from '../../lib/ed25519-key.js';
import type { Ed25519PrivateJwk, Ed25519PublicJwk } from '../../token/api.js';
import { jwkThumbprint } from '../../token/index.js';
import { IssuerError } from '../errors.js';

/** Suffix of every key file. */
export const KEY_SUFFIX = '.jwk.json';

/** A parsed, fully checked key file. */
export interface KeyFile {
  doc: Record<string, unknown>;
  privateKey: KeyObject;
  pub: Ed25519PublicJwk;
  kid: string;
  createdAt: number;
}

/** Generates an Ed25519 key pair and returns the private key plus its private JWK with `kid`. */
export function generateKey(): { privateKey: KeyObject; jwk: Ed25519PrivateJwk & { kid: string } } {
  const { privateKey } = generateEd25519();
  const exported = privateKey.export({ format: 'jwk' }) as { x: string; d: string };
  const pub: Ed25519PublicJwk = { kty: 'OKP', crv: 'Ed25519', x: exported.x };
  return { privateKey, jwk: { ...pub, d: exported.d, kid: jwkThumbprint(pub) } };
}

/** The text of a key file: pretty JSON with a trailing newline. */
export function keyFileText(doc: Record<string, unknown>): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** Key file names in `dir` (hidden temp files skipped). Unlistable → ISSUER_STORE_CORRUPT. */
export function listKeyFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((n) => n.endsWith(KEY_SUFFIX) && !n.startsWith('.'));
  } catch (e) {
    throw new IssuerError('ISSUER_STORE_CORRUPT', `cannot list ${dir}`, e);
  }
}

/**
 * Parses one key file and checks it fully: shape, that `d` really yields `x` and that `kid` is the
 * thumbprint. Anything off → ISSUER_STORE_CORRUPT (never sign or publish with a key we can't trust).
 */
export function parseKeyFile(path: string): KeyFile {
  const corrupt = (why: string, cause?: unknown) =>
    new IssuerError('ISSUER_STORE_CORRUPT', `key file ${path}: ${why}`, cause);
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw corrupt('unreadable or not JSON', e);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw corrupt('not an object');
  const d = doc as Record<string, unknown>;
  const jwk = d.jwk as Record<string, unknown> | undefined;
  if (typeof jwk !== 'object' || jwk === null) throw corrupt('missing jwk');
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string' || typeof jwk.d !== 'string') {
    throw corrupt('jwk must be an Ed25519 private key');
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d }, format: 'jwk' });
  } catch (e) {
    throw corrupt('jwk does not import', e);
  }
  const derived = (createPublicKey(privateKey).export({ format: 'jwk' }) as { x: string }).x;
  if (derived !== jwk.x) throw corrupt('private key does not match x');
  const pub: Ed25519PublicJwk = { kty: 'OKP', crv: 'Ed25519', x: jwk.x };
  const kid = jwkThumbprint(pub);
  if (d.kid !== kid) throw corrupt('kid is not the RFC 7638 thumbprint');
  const createdAt = typeof d.created_at === 'string' ? Date.parse(d.created_at) : Number.NaN;
  if (!Number.isFinite(createdAt)) throw corrupt('created_at must be an ISO 8601 date');
  return { doc: d, privateKey, pub, kid, createdAt };
}
