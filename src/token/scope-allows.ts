/** Tool authorisation against a tool_scope allow-list (docs/tbit.md §4.4). */
import { isScopePattern, isToolName, patternAllows } from './lib/scope.js';

/**
 * True when some pattern of `scope` allows `tool`. Fails closed: an invalid tool name, or an invalid
 * pattern, never matches.
 */
export function scopeAllows(scope: readonly string[], tool: string): boolean {
  if (!isToolName(tool)) return false;
  for (const p of scope) if (isScopePattern(p) && patternAllows(p, tool)) return true;
  return false;
}
