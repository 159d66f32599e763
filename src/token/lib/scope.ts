/**
 * Tool names and scope patterns (docs/tbit.md §4.4).
 * name    = segment *("." segment); segment = 1*[A-Za-z0-9_:/-]; at most 128 characters.
 * pattern = name | name ".*" | "*".
 */

/** Longest tool name or pattern. */
export const MAX_TOOL_LENGTH = 128;
/** Largest tool_scope array. */
export const MAX_SCOPE_ENTRIES = 64;

const NAME = /^[A-Za-z0-9_:/-]+(?:\.[A-Za-z0-9_:/-]+)*$/;

/** True when `s` is a valid tool name (no wildcard). */
export function isToolName(s: unknown): s is string {
  return typeof s === 'string' && s.length <= MAX_TOOL_LENGTH && NAME.test(s);
}

/** Patterns already accepted (tokens repeat the same few; bounded so fresh garbage cannot grow it). */
const validPatterns = new Set<string>();

/** True when `s` is a valid scope pattern: a name, `name.*`, or `*`. */
export function isScopePattern(s: unknown): s is string {
  if (typeof s !== 'string' || s.length > MAX_TOOL_LENGTH) return false;
  if (s === '*' || validPatterns.has(s)) return true;
  const ok = NAME.test(s.endsWith('.*') ? s.slice(0, -2) : s);
  if (ok) {
    if (validPatterns.size >= 4096) validPatterns.clear();
    validPatterns.add(s);
  }
  return ok;
}

/** True when one pattern allows one tool name. Both must already be valid. */
export function patternAllows(pattern: string, tool: string): boolean {
  if (pattern === '*' || pattern === tool) return true;
  // `a.*` keeps the dot in the prefix, so it matches `a.b` but never `a` or `ab`.
  return pattern.endsWith('.*') && tool.startsWith(pattern.slice(0, -1));
}

/** True when parent pattern `p` covers child pattern `c`: everything `c` allows, `p` allows too. */
export function patternCovers(p: string, c: string): boolean {
  if (p === '*' || p === c) return true;
  if (c === '*') return false;
  // `a.*` covers `a.b`, `a.b.c` and `a.b.*` (all start with `a.`), and `a.*` itself via p === c.
  return p.endsWith('.*') && c.startsWith(p.slice(0, -1));
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
