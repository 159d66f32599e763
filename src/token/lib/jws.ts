/**
 * The JWS layer: compact serialization (RFC 7515 §3.1, §7.1) with Ed25519 only (RFC 8037 §3.1, RFC 9864).
 * Knows nothing about TBIT claims, so the RFC 8037 Appendix A.4 example runs through exactly this code.
 */

import { sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { b64urlDecode, b64urlEncode } from '../../lib/bytes.js';
import { TbitError } from '../errors.js';

/** The algorithm names we accept: `EdDSA` (RFC 8037 §3.1) and the fully-specified `Ed25519` (RFC 9864). */
export const ACCEPTED_ALGS: ReadonlySet<string> = new Set(['EdDSA', 'Ed25519']);

/**
 * Header parameters that would let the token choose its own key, or change how it is processed
 * (RFC 8725 §3.1 and §3.10): never honoured, always rejected. `crit` is rejected outright because we
 * understand no extension (RFC 7515 §4.1.11 requires rejecting unknown critical parameters).
 */
export const FORBIDDEN_HEADER_PARAMS: readonly string[] = [
  'crit',
  'jku',
  'jwk',
  'x5u',
  'x5c',
  'x5t',
  'x5t#S256',
  'b64',
  'zip',
];

/**
 * Headers that already passed {@link screenHeader}, by their exact base64url text. A deployment has a handful
 * of distinct headers (one per issuer kid and per holder key), so most hops skip the decode and JSON parse.
 * Screening is a pure function of that text; the LRU bound keeps attacker-made variety from growing memory.
 */
const screenedHeaders = new LRUCache<string, Record<string, unknown>>({ max: 1024 });

/** A compact JWS split and decoded, signature not yet checked. */
export interface ParsedJws {
  /** The decoded protected header (a JSON object, already screened by {@link screenHeader}). */
  header: Record<string, unknown>;
  /** Decoded payload bytes. */
  payload: Buffer;
  /** Decoded signature (64 bytes for Ed25519). */
  signature: Buffer;
  /** ASCII(BASE64URL(header) || '.' || BASE64URL(payload)), the bytes that were signed (RFC 7515 §5.2 step 8). */
  signingInput: string;
  /** The same signing input as bytes, when the caller has a view of them already (saves a copy per hop). */
  signingBytes?: Buffer;
}

/** Parses JSON into a plain object or throws TBIT_MALFORMED (arrays, strings, numbers, null, bad JSON). */
export function parseJsonObject(bytes: Buffer, what: string, hop?: number): Record<string, unknown> {
  let v: unknown;
  try {
    // Buffer.toString('utf8') replaces invalid UTF-8 with U+FFFD; a token carrying that is rejected by the
    // claim charsets later, and never gets here as a trusted value.
    v = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new TbitError('TBIT_MALFORMED', `${what} is not valid JSON`, hop, e);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new TbitError('TBIT_MALFORMED', `${what} must be a JSON object`, hop);
  }
  return v as Record<string, unknown>;
}

/** Rejects any algorithm outside {@link ACCEPTED_ALGS} and any {@link FORBIDDEN_HEADER_PARAMS}. */
export function screenHeader(h: Record<string, unknown>, hop?: number): void {
  const alg = h.alg;
  if (typeof alg !== 'string' || !ACCEPTED_ALGS.has(alg)) {
    throw new TbitError(
      'TBIT_ALG_REJECTED',
      `alg ${JSON.stringify(alg) ?? 'missing'} is not EdDSA/Ed25519`,
      hop,
    );
  }
  for (const p of FORBIDDEN_HEADER_PARAMS) {
    if (Object.hasOwn(h, p))
      throw new TbitError('TBIT_HEADER_REJECTED', `header parameter "${p}" is not allowed`, hop);
  }
}

/**
 * Splits and decodes one compact JWS (RFC 7515 §7.1: exactly three base64url parts). Strict base64url
 * (no padding, canonical), header must be a JSON object screened by {@link screenHeader}, signature 64 bytes.
 */
export function parseCompactJws(jws: string, hop?: number): ParsedJws {
  const d1 = jws.indexOf('.');
  const d2 = d1 === -1 ? -1 : jws.indexOf('.', d1 + 1);
  if (d1 <= 0 || d2 === -1 || jws.indexOf('.', d2 + 1) !== -1) {
    throw new TbitError('TBIT_MALFORMED', 'a JWS must have exactly three non-empty dot-separated parts', hop);
  }
  const h64 = jws.slice(0, d1);
  const p64 = jws.slice(d1 + 1, d2);
  const s64 = jws.slice(d2 + 1);
  if (p64.length === 0 || s64.length === 0) {
    throw new TbitError('TBIT_MALFORMED', 'a JWS must have exactly three non-empty dot-separated parts', hop);
  }
  let header = screenedHeaders.get(h64);
  if (header === undefined) {
    const hb = b64urlDecode(h64);
    if (hb === null) throw new TbitError('TBIT_MALFORMED', 'invalid base64url', hop);
    header = parseJsonObject(hb, 'JWS header', hop);
    screenHeader(header, hop);
    if (h64.length <= 512) screenedHeaders.set(h64, Object.freeze(header));
  }
  const pb = b64urlDecode(p64);
  const sb = b64urlDecode(s64);
  if (pb === null || sb === null) throw new TbitError('TBIT_MALFORMED', 'invalid base64url', hop);
  if (sb.length !== 64) throw new TbitError('TBIT_BAD_SIGNATURE', 'an Ed25519 signature is 64 bytes', hop);
  return { header, payload: pb, signature: sb, signingInput: jws.slice(0, d2) };
}

/**
 * Checks an Ed25519 signature (RFC 8032 §5.1.7 via OpenSSL). The key type is pinned: a non-Ed25519 key is
 * TBIT_UNKNOWN_KEY, never tried with another algorithm.
 */
export function verifySignature(p: ParsedJws, key: KeyObject, hop?: number): void {
  if (key.asymmetricKeyType !== 'ed25519') throw new TbitError('TBIT_UNKNOWN_KEY', 'key is not Ed25519', hop);
  let ok = false;
  try {
    ok = cryptoVerify(null, p.signingBytes ?? Buffer.from(p.signingInput, 'latin1'), key, p.signature);
  } catch (e) {
    throw new TbitError('TBIT_BAD_SIGNATURE', 'signature check failed', hop, e);
  }
  if (!ok) throw new TbitError('TBIT_BAD_SIGNATURE', 'signature does not verify', hop);
}

/** Parses and verifies a compact JWS with `key`; returns the header and payload (RFC 7515 §5.2). */
export function verifyCompactJws(
  jws: string,
  key: KeyObject,
): { header: Record<string, unknown>; payload: Buffer } {
  const p = parseCompactJws(jws);
  verifySignature(p, key);
  return { header: p.header, payload: p.payload };
}

/** Signs `payload` under `header` with an Ed25519 private key; returns the compact JWS (RFC 7515 §5.1). */
export function signCompactJws(header: object, payload: object, key: KeyObject): string {
  const input = `${b64urlEncode(JSON.stringify(header))}.${b64urlEncode(JSON.stringify(payload))}`;
  const sig = cryptoSign(null, Buffer.from(input, 'latin1'), key);
  return `${input}.${b64urlEncode(sig)}`;
}
