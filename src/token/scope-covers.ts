/** Scope narrowing check for delegation (docs/chains.md §3 rule R5). */
import { scopeWidening } from './lib/scope.js';

/**
 * True when every pattern of `child` is covered by some pattern of `parent` (child ⊆ parent, wildcards
 * included). Fails closed: any invalid pattern on either side, or an empty child, gives false.
 */
export function scopeCovers(parent: readonly string[], child: readonly string[]): boolean {
  return scopeWidening(parent, child) === undefined && child.length > 0;
}
