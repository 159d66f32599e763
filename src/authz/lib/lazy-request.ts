/**
 * The CheckRequest the server hands to the pipeline may be the narrow hot-path form (lib/read-check-request.ts)
 * carrying a way to build the full proto-loader object on demand; the policy hook must always get the full one.
 */
import type { CheckRequest } from '../types.js';

const FULL = Symbol('sigil.fullCheckRequest');

interface Lazy {
  [FULL]?: () => CheckRequest;
}

/** Attaches (non-enumerable) the builder of the full request to the narrow form; it runs at most once. */
export function withFullRequest(narrow: CheckRequest, build: () => CheckRequest): CheckRequest {
  let full: CheckRequest | undefined;
  Object.defineProperty(narrow, FULL, { value: () => (full ??= build()), enumerable: false });
  return narrow;
}

/** The full proto-loader-shaped request: built now for a narrow one, `req` itself otherwise. */
export function fullRequest(req: CheckRequest): CheckRequest {
  const build = (req as Lazy)[FULL];
  return build === undefined ? req : build();
}
