/** strings.count, indexof_n, glob.quote_meta and numbers.range_step host builtins (OPA topdown/strings.go, glob.go, numbers.go). */
import type { HostBuiltin } from './host.js';

/** Go strings.Count: non-overlapping occurrences; an empty substring counts runes + 1. */
function count(s: string, sub: string): number {
  if (sub === '') return [...s].length + 1;
  let n = 0;
  for (let i = s.indexOf(sub); i !== -1; i = s.indexOf(sub, i + sub.length)) n++;
  return n;
}

/** indexof_n: the rune index of every (overlapping) occurrence; an empty needle is an error (undefined). */
function indexOfN(s: string, sub: string): number[] | undefined {
  if (sub === '') return undefined;
  const runes = [...s];
  const out: number[] = [];
  let unit = 0; // UTF-16 offset of runes[i]
  for (let i = 0; i < runes.length; unit += runes[i]!.length, i++) {
    if (s.startsWith(sub, unit)) out.push(i);
  }
  return out;
}

/** Elements numbers.range_step may produce; OPA's only limit is memory, SIGIL refuses longer ranges. */
const MAX_RANGE = 1_000_000;

/** numbers.range_step(a, b, step): integers from a towards b (inclusive) by a positive integer step. */
function rangeStep(a: unknown, b: unknown, step: unknown): number[] | undefined {
  if (![a, b, step].every((x) => Number.isSafeInteger(x)) || (step as number) <= 0) return undefined;
  const [x, y, st] = [a as number, b as number, step as number];
  if (Math.abs(y - x) / st >= MAX_RANGE) return undefined;
  const out: number[] = [];
  for (let v = x; x <= y ? v <= y : v >= y; v += x <= y ? st : -st) out.push(v);
  return out;
}

/** strings.count, indexof_n, glob.quote_meta, numbers.range_step. */
export function stringsBuiltins(): Record<string, HostBuiltin> {
  return {
    'strings.count': (s: unknown, sub: unknown) =>
      typeof s === 'string' && typeof sub === 'string' ? count(s, sub) : undefined,
    indexof_n: (s: unknown, sub: unknown) =>
      typeof s === 'string' && typeof sub === 'string' ? indexOfN(s, sub) : undefined,
    'numbers.range_step': rangeStep,
    // gobwas/glob QuoteMeta: its special characters are * ? \ [ ] { } (not ! , -).
    'glob.quote_meta': (s: unknown) =>
      typeof s === 'string' ? s.replace(/[*?\\[\]{}]/g, '\\$&') : undefined,
  };
}
