/** strings.count and glob.quote_meta host builtins (OPA topdown/strings.go, glob.go). */
import type { HostBuiltin } from './host.js';

/** Go strings.Count: non-overlapping occurrences; an empty substring counts runes + 1. */
function count(s: string, sub: string): number {
  if (sub === '') return [...s].length + 1;
  let n = 0;
  for (let i = s.indexOf(sub); i !== -1; i = s.indexOf(sub, i + sub.length)) n++;
  return n;
}

/** strings.count, glob.quote_meta. */
export function stringsBuiltins(): Record<string, HostBuiltin> {
  return {
    'strings.count': (s: unknown, sub: unknown) =>
      typeof s === 'string' && typeof sub === 'string' ? count(s, sub) : undefined,
    // gobwas/glob QuoteMeta: its special characters are * ? \ [ ] { } (not ! , -).
    'glob.quote_meta': (s: unknown) =>
      typeof s === 'string' ? s.replace(/[*?\\[\]{}]/g, '\\$&') : undefined,
  };
}
