/**
 * Splitting a presented token into hops (docs/tbit.md §2) and decoding each hop. Size caps come first,
 * before any decoding work, so an oversized input costs one length check.
 */

import { sha256 } from '../../lib/bytes.js';
import type { TbitClaims, TbitHeader } from '../api.js';
import { TbitError } from '../errors.js';
import { assertClaims, assertTbitHeader } from './claims.js';
import { type ParsedJws, parseCompactJws, parseJsonObject } from './jws.js';

/** Largest presented token, in characters (valid tokens are ASCII, so this is also bytes). */
export const MAX_TOKEN_LENGTH = 16 * 1024;
/** Hard cap on hops, whatever the configuration says. */
export const MAX_HOPS = 10;
/** Separator between hops (a legal RFC 7235 §2.1 token68 character). */
export const HOP_SEPARATOR = '~';

/**
 * One decoded hop, signature not yet checked. A class (not an object literal with a getter) so the hot
 * path allocates no closure per hop; the hash is computed on first read, since only parents need theirs.
 */
export class ParsedHop {
  #hash: string | undefined;

  constructor(
    readonly header: TbitHeader,
    readonly claims: TbitClaims,
    readonly jws: string,
    readonly jwsParts: ParsedJws,
    /** The hop's ASCII bytes when the caller already has them (a view into the token), else undefined. */
    readonly bytes?: Buffer,
  ) {}

  /** base64url SHA-256 of the hop's compact JWS: what a child's `par` must equal. */
  get hash(): string {
    this.#hash ??= sha256(this.bytes ?? this.jws, 'base64url');
    return this.#hash;
  }
}

/** Enforces TBIT_TOO_LARGE and splits the token; throws TBIT_MALFORMED for empty hops. */
export function splitToken(token: unknown): string[] {
  if (typeof token !== 'string') throw new TbitError('TBIT_MALFORMED', 'token must be a string');
  if (token.length > MAX_TOKEN_LENGTH) {
    throw new TbitError('TBIT_TOO_LARGE', `token is longer than ${MAX_TOKEN_LENGTH} characters`);
  }
  let seps = 0;
  for (let i = token.indexOf(HOP_SEPARATOR); i !== -1; i = token.indexOf(HOP_SEPARATOR, i + 1)) {
    if (++seps >= MAX_HOPS) throw new TbitError('TBIT_TOO_LARGE', `token has more than ${MAX_HOPS} hops`);
  }
  if (token.length === 0) throw new TbitError('TBIT_MALFORMED', 'token is empty');
  const parts = token.split(HOP_SEPARATOR);
  for (let i = 0; i < parts.length; i++) {
    if (parts[i]!.length === 0)
      throw new TbitError('TBIT_MALFORMED', 'empty hop (leading, trailing or "~~")', i);
  }
  return parts;
}

/** Hash of a hop or token as the `par` claim carries it: base64url(SHA-256(ASCII(s))). */
export function hopHash(s: string): string {
  return sha256(s, 'base64url');
}

/** Decodes one hop: JWS layer, TBIT header, claim shape. */
export function parseHop(jws: string, index: number): ParsedHop {
  return decodeHop(jws, index, undefined);
}

/**
 * Decodes every hop of a split token. The token is copied to bytes once and each hop gets a view into that copy,
 * used for its signature check and its hash, instead of one encode per hop for each.
 */
export function parseHops(token: string, parts: readonly string[]): ParsedHop[] {
  // latin1 is a 1:1 copy for ASCII; a non-ASCII token never gets this far as valid (strict base64url per segment).
  const bytes = Buffer.from(token, 'latin1');
  const hops: ParsedHop[] = [];
  let off = 0;
  for (let i = 0; i < parts.length; i++) {
    const jws = parts[i]!;
    hops.push(decodeHop(jws, i, bytes.subarray(off, off + jws.length)));
    off += jws.length + 1;
  }
  return hops;
}

function decodeHop(jws: string, index: number, bytes: Buffer | undefined): ParsedHop {
  const jwsParts = parseCompactJws(jws, index);
  if (bytes !== undefined) jwsParts.signingBytes = bytes.subarray(0, jwsParts.signingInput.length);
  const header = assertTbitHeader(jwsParts.header, index);
  const claims = assertClaims(parseJsonObject(jwsParts.payload, 'claims', index), index);
  return new ParsedHop(header, claims, jws, jwsParts, bytes);
}
