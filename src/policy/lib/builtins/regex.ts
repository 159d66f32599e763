/**
 * regex.* host builtins with Go RE2 semantics (OPA topdown/regex.go, regex_template.go): patterns are translated
 * by ./re2.ts; a pattern Go rejects makes the result undefined (OPA's builtin error in non-strict mode).
 *
 * regex.split replaces opa-wasm's JS version, which used JavaScript RegExp syntax and semantics.
 */
import type { HostBuiltin } from './host.js';
import { compileRe2, findAll, type Re2 } from './re2.js';

/** compileRe2, or undefined when Go would fail to compile the pattern. */
function compile(pattern: unknown): Re2 | undefined {
  if (typeof pattern !== 'string') return undefined;
  try {
    return compileRe2(pattern);
  } catch {
    return undefined;
  }
}

/** Go regexp.QuoteMeta. */
const quoteMeta = (s: string) => s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');

/**
 * The template's first-level delimiter pairs (gorilla/mux's delimiterIndices, as OPA uses it); undefined when
 * unbalanced.
 */
function delimiters(s: string, open: string, close: string): number[] | undefined {
  let level = 0;
  let start = 0;
  const idx: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === open) {
      if (++level === 1) start = i;
    } else if (s[i] === close) {
      if (--level === 0) idx.push(start, i + 1);
      else if (level < 0) return undefined;
    }
  }
  return level === 0 ? idx : undefined;
}

/** regex.template_match: literal text with delimited regexps, anchored at both ends. */
function templateMatch(tpl: unknown, s: unknown, open: unknown, close: unknown): boolean | undefined {
  if (
    typeof tpl !== 'string' ||
    typeof s !== 'string' ||
    typeof open !== 'string' ||
    typeof close !== 'string'
  )
    return undefined;
  // Delimiters are single bytes in Go (len(start) == 1), i.e. one ASCII character.
  if (Buffer.byteLength(open) !== 1 || Buffer.byteLength(close) !== 1) return undefined;
  const idx = delimiters(tpl, open, close);
  if (!idx) return undefined;
  let pattern = '^';
  let end = 0;
  for (let i = 0; i < idx.length; i += 2) {
    const inner = tpl.slice(idx[i]! + 1, idx[i + 1]! - 1);
    if (!compile(`^${inner}$`)) return undefined;
    pattern += `${quoteMeta(tpl.slice(end, idx[i]))}(${inner})`;
    end = idx[i + 1]!;
  }
  pattern += `${quoteMeta(tpl.slice(end))}$`;
  const re = compile(pattern);
  return re ? findAll(re, s, 1).length === 1 : undefined;
}

/** Go Regexp.Split(s, -1). */
function split(re: Re2, s: string): string[] {
  if (re.re.source !== '(?:)' && s === '') return [''];
  const out: string[] = [];
  let beg = 0;
  let end = 0;
  for (const m of findAll(re, s, -1)) {
    end = m.index;
    if (m.index + m[0].length !== 0) out.push(s.slice(beg, end));
    beg = m.index + m[0].length;
  }
  if (end !== s.length) out.push(s.slice(beg));
  return out;
}

/** regex.find_n, regex.template_match, regex.split (regex.replace stays refused: OPA's loop differs, see docs). */
export function regexBuiltins(): Record<string, HostBuiltin> {
  return {
    'regex.find_n': (p: unknown, s: unknown, n: unknown) => {
      const re = compile(p);
      if (!re || typeof s !== 'string' || typeof n !== 'number' || !Number.isInteger(n)) return undefined;
      return findAll(re, s, n).map((m) => m[0]);
    },
    'regex.template_match': templateMatch,
    'regex.split': (p: unknown, s: unknown) => {
      const re = compile(p);
      return re && typeof s === 'string' ? split(re, s) : undefined;
    },
  };
}
