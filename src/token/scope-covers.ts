/** Scope narrowing check for delegation (docs/chains.md §3 rule R5). */
import { isScopePattern, patternCovers } from './lib/scope.js';

/**
 * True when every pattern of `child` is covered by some pattern of `parent` (child ⊆ parent, wildcards
 * included). Fails closed: any invalid pattern on either side, or an empty child, gives false.
 */
export function scopeCovers(parent: readonly string[], child: readonly string[]): boolean {
  return scopeWidening(parent, child) === undefined && child.length > 0;
}

/** The first child pattern no parent pattern covers (or that is invalid), or undefined when child ⊆ parent. */
export function scopeWidening(parent: readonly string[], child: readonly string[]): string | undefined {
  for (const c of child) {
    if (!isScopePattern(c)) return String(c);
    let covered = false;
    for (const p of parent) {
      if (isScopePattern(p) && patternCovers(p, c)) {
        covered = true;
        break;
      }
    }
    if (!covered) return c;
  }
  return undefined;
}
