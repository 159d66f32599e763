/**
 * What a token that failed verification *claims* to be (issue #24, docs/authz.md §2 step 6): the leaf hop's
 * `sub`, `task_id`, `iss` and header `kid`, read WITHOUT trusting them, for the audit log's "claimed,
 * unverified" display. Never a basis for a decision; never the token, a signature or any other claim.
 */
import { b64urlDecode } from '../lib/bytes.js';
import { isSpiffeId } from './is-spiffe-id.js';
import { HOP_SEPARATOR, MAX_HOPS, MAX_TOKEN_LENGTH } from './lib/hop.js';

/** The claimed identity; each field present only when it is well-formed. NOT verified. */
export interface ClaimedIdentity {
  /** Leaf `sub`, a valid SPIFFE ID of at most {@link MAX_CLAIMED_ID} characters. */
  sub?: string;
  /** Leaf `task_id` (TBIT syntax: 1..128 visible ASCII characters). */
  task_id?: string;
  /** Leaf header `kid`, 1..128 visible ASCII characters. */
  kid?: string;
  /** Leaf `iss`, a valid SPIFFE ID of at most {@link MAX_CLAIMED_ID} characters. */
  iss?: string;
}

/** Longest claimed SPIFFE ID kept (tighter than SPIFFE-ID.md §2.3's 2048: this is attacker-chosen text). */
export const MAX_CLAIMED_ID = 512;
/** task_id syntax (docs/tbit.md §4, as lib/claims.ts) and the kid cap: 1..128 visible ASCII characters. */
const ID = /^[\x21-\x7e]{1,128}$/;
/** A compact JWS inside a claim: a token pasted into a field is not kept (only token hashes are recorded). */
const JWS_LIKE = /eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*\.?/;
/** Largest base64url header/payload decoded here: a hop never exceeds the token cap anyway. */
const MAX_PART = MAX_TOKEN_LENGTH;

function parseObject(part: string | undefined): Record<string, unknown> | undefined {
  if (part === undefined || part.length === 0 || part.length > MAX_PART) return undefined;
  const bytes = b64urlDecode(part);
  if (bytes === null) return undefined;
  try {
    const v: unknown = JSON.parse(bytes.toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const spiffe = (v: unknown): string | undefined =>
  typeof v === 'string' && v.length <= MAX_CLAIMED_ID && isSpiffeId(v) ? v : undefined;
const shortId = (v: unknown): string | undefined =>
  typeof v === 'string' && ID.test(v) && !JWS_LIKE.test(v) ? v : undefined;

/**
 * Reads the claimed identity of `token` (a presented chain, `~`-separated hops; its leaf is the last hop)
 * without verifying anything. Bounded: a token over the size or hop caps (docs/tbit.md §2) yields nothing,
 * and only the leaf's header and payload are decoded. Never throws; undefined when nothing well-formed is
 * claimed. Own (not inherited) JSON members only.
 */
export function claimedIdentity(token: unknown): ClaimedIdentity | undefined {
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return undefined;
  const parts = token.split(HOP_SEPARATOR, MAX_HOPS + 1);
  if (parts.length > MAX_HOPS) return undefined;
  const segs = parts[parts.length - 1]!.split('.', 4);
  if (segs.length !== 3) return undefined;
  const header = parseObject(segs[0]);
  const claims = parseObject(segs[1]);
  const out: ClaimedIdentity = {};
  const sub = claims && Object.hasOwn(claims, 'sub') ? spiffe(claims.sub) : undefined;
  const task = claims && Object.hasOwn(claims, 'task_id') ? shortId(claims.task_id) : undefined;
  const iss = claims && Object.hasOwn(claims, 'iss') ? spiffe(claims.iss) : undefined;
  const kid = header && Object.hasOwn(header, 'kid') ? shortId(header.kid) : undefined;
  if (sub !== undefined) out.sub = sub;
  if (task !== undefined) out.task_id = task;
  if (kid !== undefined) out.kid = kid;
  if (iss !== undefined) out.iss = iss;
  return (sub ?? task ?? kid ?? iss) ? out : undefined;
}
