/**
 * The CheckRequest the server hands to the pipeline may be the narrow hot-path form (lib/read-check-request.ts);
 * this remembers its wire bytes so the full proto-loader object can be built on demand: the policy hook must
 * always get the full one. A WeakMap (not a closure or property per request) keeps the hot path allocation-light.
 */
import type { CheckRequest } from '../types.js';

interface Pending {
  bytes: Buffer;
  decode: (bytes: Buffer) => CheckRequest;
  full: CheckRequest | undefined;
}

const pending = new WeakMap<CheckRequest, Pending>();

/** Records that `narrow` was read from `bytes`, whose full form `decode` builds (at most once). */
export function withFullRequest(
  narrow: CheckRequest,
  bytes: Buffer,
  decode: (bytes: Buffer) => CheckRequest,
): CheckRequest {
  pending.set(narrow, { bytes, decode, full: undefined });
  return narrow;
}

/** The full proto-loader-shaped request: built now for a narrow one, `req` itself otherwise. */
export function fullRequest(req: CheckRequest): CheckRequest {
  const p = pending.get(req);
  if (p === undefined) return req;
  p.full ??= p.decode(p.bytes);
  return p.full;
}
