/**
 * Go RE2 syntax (regexp/syntax, Perl flags) translated to an equivalent JavaScript RegExp, so host builtins match
 * what OPA matches. Patterns RE2 rejects (lookaround, backreferences, possessive or nested repetition, counts over
 * 1000, unknown escapes) are errors here too. Where JS reads the same text differently the translation spells the
 * Go meaning out: `.` excludes only `\n`, `\s`/`\w`/`\d` and POSIX classes are ASCII, `^`/`$` see only `\n`
 * line ends, `\A`, `\z`, `\Q…\E`, octal escapes, inline flags. One limit: `(?i)` must cover the whole pattern
 * (JS before ES2025 has no scoped case-insensitivity), otherwise the pattern is refused.
 */

/** A pattern SIGIL cannot run with Go's meaning: invalid in RE2, or (rarely) not expressible in JS. */
export class Re2Error extends Error {}

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  U: boolean;
}

/** A compiled pattern: the JS RegExp (flags `gu`, plus `i`) and its capture-group names by index. */
export interface Re2 {
  re: RegExp;
  names: (string | undefined)[];
}

const MAX_REPEAT = 1000;
const ASCII = {
  d: [[0x30, 0x39]],
  s: [
    [0x09, 0x0a],
    [0x0c, 0x0d],
    [0x20, 0x20],
  ],
  w: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x5f, 0x5f],
    [0x61, 0x7a],
  ],
} as const satisfies Record<string, readonly (readonly [number, number])[]>;

const POSIX: Record<string, [number, number][]> = {
  alnum: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  alpha: [
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  ascii: [[0x00, 0x7f]],
  blank: [
    [0x09, 0x09],
    [0x20, 0x20],
  ],
  cntrl: [
    [0x00, 0x1f],
    [0x7f, 0x7f],
  ],
  digit: [[0x30, 0x39]],
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [
    [0x21, 0x2f],
    [0x3a, 0x40],
    [0x5b, 0x60],
    [0x7b, 0x7e],
  ],
  space: [
    [0x09, 0x0d],
    [0x20, 0x20],
  ],
  upper: [[0x41, 0x5a]],
  word: ASCII.w.map(([a, b]) => [a, b]),
  xdigit: [
    [0x30, 0x39],
    [0x41, 0x46],
    [0x61, 0x66],
  ],
};

/** Complement of sorted, disjoint ranges over all code points. */
function complement(rs: readonly (readonly [number, number])[]): [number, number][] {
  const out: [number, number][] = [];
  let next = 0;
  for (const [a, b] of rs) {
    if (a > next) out.push([next, a - 1]);
    next = b + 1;
  }
  if (next <= 0x10ffff) out.push([next, 0x10ffff]);
  return out;
}

const cp = (c: number) => `\\u{${c.toString(16)}}`;
const rangesSrc = (rs: readonly (readonly [number, number])[]) =>
  rs.map(([a, b]) => (a === b ? cp(a) : `${cp(a)}-${cp(b)}`)).join('');

/** Go's Unicode class names: general categories and scripts; `C` excludes unassigned code points as in Go. */
function unicodeClass(name: string, negated: boolean): string {
  let src: string;
  if (name === 'Any') src = '\\u{0}-\\u{10ffff}';
  else if (name === 'C') src = '\\p{Cc}\\p{Cf}\\p{Co}\\p{Cs}';
  else if (/^[A-Z][a-z]?$/.test(name)) src = `\\p{${name}}`;
  else src = `\\p{Script=${name}}`;
  try {
    new RegExp(`[${src}]`, 'u');
  } catch {
    throw new Re2Error(`invalid character class range: \\p{${name}}`);
  }
  return negated ? `[^${src}]` : `[${src}]`;
}

const isWordAscii = (c: string) => /^[0-9A-Za-z_]$/.test(c);

/** Translates a Go regexp into JS source; throws Re2Error where Go's regexp.Compile fails. */
export function translateRe2(pattern: string): {
  source: string;
  flags: string;
  names: (string | undefined)[];
} {
  const chars = [...pattern];
  let pos = 0;
  const names: (string | undefined)[] = [undefined];
  let caseI = 0;
  let caseS = 0;
  const fail = (msg: string): never => {
    throw new Re2Error(`error parsing regexp: ${msg}`);
  };
  const peek = (k = 0) => chars[pos + k];
  const eat = (s: string) => {
    for (let k = 0; k < s.length; k++) if (chars[pos + k] !== s[k]) return false;
    pos += s.length;
    return true;
  };
  const noteCase = (f: Flags, text: string) => {
    if (!/[\p{L}]/u.test(text)) return;
    if (f.i) caseI++;
    else caseS++;
  };

  /** One escape after `\` (chars[pos] is the char after it): a literal code point or a class source. */
  const parseEscape = (
    f: Flags,
    inClass: boolean,
  ): { cp: number } | { cls: string; ranges?: [number, number][] } => {
    const c = chars[pos++];
    if (c === undefined) fail('trailing backslash at end of expression');
    const ch = c!;
    if (ch >= '1' && ch <= '7' && !(peek() !== undefined && peek()! >= '0' && peek()! <= '7'))
      fail(`invalid escape sequence: \\${ch}`);
    if (ch >= '0' && ch <= '7') {
      let v = Number(ch);
      for (let k = 0; k < 2 && peek() !== undefined && peek()! >= '0' && peek()! <= '7'; k++)
        v = v * 8 + Number(chars[pos++]);
      return { cp: v };
    }
    if (ch === 'x') {
      if (peek() === '{') {
        pos++;
        let hex = '';
        while (peek() !== undefined && peek() !== '}') hex += chars[pos++];
        pos++;
        if (!/^[0-9A-Fa-f]+$/.test(hex) || Number.parseInt(hex, 16) > 0x10ffff)
          fail('invalid escape sequence: \\x{');
        return { cp: Number.parseInt(hex, 16) };
      }
      const hex = `${peek() ?? ''}${peek(1) ?? ''}`;
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) fail('invalid escape sequence: \\x');
      pos += 2;
      return { cp: Number.parseInt(hex, 16) };
    }
    const simple: Record<string, number> = { a: 7, f: 12, t: 9, n: 10, r: 13, v: 11 };
    if (simple[ch] !== undefined) return { cp: simple[ch]! };
    if (ch === 'd' || ch === 's' || ch === 'w' || ch === 'D' || ch === 'S' || ch === 'W') {
      const base = ASCII[ch.toLowerCase() as 'd' | 's' | 'w'];
      const ranges =
        ch === ch.toLowerCase() ? base.map(([a, b]) => [a, b] as [number, number]) : complement(base);
      noteCase(f, ch === 'w' || ch === 'W' ? 'a' : '');
      return { cls: `[${rangesSrc(ranges)}]`, ranges };
    }
    if (ch === 'p' || ch === 'P') {
      let name: string;
      if (peek() === '{') {
        pos++;
        name = '';
        while (peek() !== undefined && peek() !== '}') name += chars[pos++];
        if (peek() !== '}') fail('invalid character class range');
        pos++;
      } else {
        name = chars[pos++] ?? fail('invalid character class range');
      }
      let neg = ch === 'P';
      if (name.startsWith('^')) {
        neg = !neg;
        name = name.slice(1);
      }
      noteCase(f, 'a');
      return { cls: unicodeClass(name, neg) };
    }
    if (!inClass && (ch === 'b' || ch === 'B' || ch === 'A' || ch === 'z')) {
      return { cls: { b: '\\b', B: '\\B', A: '(?<![\\s\\S])', z: '(?![\\s\\S])' }[ch]! };
    }
    if (ch.codePointAt(0)! < 0x80 && !/[0-9A-Za-z]/.test(ch)) return { cp: ch.codePointAt(0)! };
    return fail(`invalid escape sequence: \\${ch}`);
  };

  /** A bracketed class; pos is after `[`. */
  const parseClass = (f: Flags): string => {
    let neg = false;
    if (peek() === '^') {
      neg = true;
      pos++;
    }
    const parts: string[] = [];
    let first = true;
    const classChar = (): number | { cls: string; ranges?: [number, number][] } => {
      const c = chars[pos++]!;
      if (c === '\\') {
        const e = parseEscape(f, true);
        return 'cp' in e ? e.cp : e;
      }
      return c.codePointAt(0)!;
    };
    while (first || peek() !== ']') {
      if (peek() === undefined) fail(`missing closing ]: \`[${chars.slice(0, pos).join('')}\``);
      first = false;
      if (peek() === '[' && peek(1) === ':') {
        const end = chars.indexOf(']', pos);
        const body = chars.slice(pos + 2, end).join('');
        if (end > pos + 2 && body.endsWith(':')) {
          const pneg = body.startsWith('^');
          const nm = body.slice(pneg ? 1 : 0, -1);
          const rs = POSIX[nm];
          if (!rs) fail(`invalid character class range: \`[:${body}]\``);
          parts.push(rangesSrc(pneg ? complement(rs!) : rs!));
          noteCase(f, 'a');
          pos = end + 1;
          continue;
        }
      }
      const lo = classChar();
      if (typeof lo !== 'number') {
        parts.push(
          lo.ranges
            ? rangesSrc(lo.ranges)
            : lo.cls.slice(1, -1).startsWith('^')
              ? lo.cls
              : lo.cls.slice(1, -1),
        );
        continue;
      }
      if (peek() === '-' && peek(1) !== undefined && peek(1) !== ']') {
        pos++;
        const hi = classChar();
        if (typeof hi !== 'number' || hi < lo) fail('invalid character class range');
        parts.push(`${cp(lo)}-${cp(hi as number)}`);
        noteCase(f, String.fromCodePoint(lo, hi as number));
      } else {
        parts.push(cp(lo));
        noteCase(f, String.fromCodePoint(lo));
      }
    }
    pos++; // ]
    // A negated \p class inside brackets becomes a nested negation JS cannot write; Go allows it.
    if (parts.some((p) => p.startsWith('[^'))) {
      if (parts.length !== 1 || neg)
        throw new Re2Error('negated Unicode class inside a bracket: not supported');
      return parts[0]!;
    }
    return `[${neg ? '^' : ''}${parts.join('')}]`;
  };

  const parseFlags = (f: Flags): { flags: Flags; group: boolean } => {
    const nf = { ...f };
    let negate = false;
    let sawFlag = false;
    for (;;) {
      const c = chars[pos++];
      if (c === undefined) fail('missing closing )');
      if (c === ':' || c === ')') {
        if (!sawFlag && (c === ')' || negate)) fail('invalid or unsupported Perl syntax: `(?`');
        if (negate && !sawFlag) fail('invalid or unsupported Perl syntax');
        return { flags: nf, group: c === ':' };
      }
      if (c === '-') {
        if (negate) fail('invalid or unsupported Perl syntax');
        negate = true;
        sawFlag = false;
        continue;
      }
      if (c !== 'i' && c !== 'm' && c !== 's' && c !== 'U')
        fail(`invalid or unsupported Perl syntax: \`(?${c}\``);
      nf[c as keyof Flags] = !negate;
      sawFlag = true;
    }
  };

  /** Alternation until `)` or end; `f` may be changed in place by (?flags). */
  const parseAlt = (f0: Flags, depth: number): string => {
    const f = { ...f0 };
    const branches: string[] = [];
    let cur: string[] = [];
    let lastAtom: 'none' | 'atom' | 'rep' = 'none';
    for (;;) {
      const c = peek();
      if (c === undefined || c === ')') {
        if (c === ')' && depth === 0) fail(`unexpected ): \`${pattern}\``);
        break;
      }
      pos++;
      if (c === '|') {
        branches.push(cur.join(''));
        cur = [];
        lastAtom = 'none';
        continue;
      }
      if (
        c === '*' ||
        c === '+' ||
        c === '?' ||
        (c === '{' && /^\d+(,\d*)?\}/.test(chars.slice(pos, pos + 12).join('')))
      ) {
        let q = c;
        if (c === '{') {
          let body = '';
          while (peek() !== '}') body += chars[pos++];
          pos++;
          const [lo, hi] = body.split(',');
          if (
            Number(lo) > MAX_REPEAT ||
            (hi !== undefined && hi !== '' && (Number(hi) > MAX_REPEAT || Number(hi) < Number(lo)))
          )
            fail(`invalid repeat count: \`{${body}}\``);
          q = `{${body}}`;
        }
        if (lastAtom === 'none') fail(`missing argument to repetition operator: \`${q}\``);
        if (lastAtom === 'rep') fail(`invalid nested repetition operator: \`${q}\``);
        let lazy = false;
        if (peek() === '?') {
          pos++;
          lazy = true;
        }
        if (f.U) lazy = !lazy;
        cur[cur.length - 1] = `(?:${cur[cur.length - 1]})${q}${lazy ? '?' : ''}`;
        lastAtom = 'rep';
        continue;
      }
      let atom: string;
      if (c === '(') {
        if (
          eat('?P<') ||
          (peek() === '?' && peek(1) === '<' && peek(2) !== '=' && peek(2) !== '!' && eat('?<'))
        ) {
          let name = '';
          while (peek() !== undefined && peek() !== '>') name += chars[pos++];
          pos++;
          if (!/^[0-9A-Za-z_]+$/.test(name)) fail(`invalid named capture: \`${name}\``);
          names.push(name);
          atom = `(${parseAlt(f, depth + 1)})`;
        } else if (peek() === '?') {
          pos++;
          const { flags, group } = parseFlags(f);
          if (!group) {
            Object.assign(f, flags);
            continue;
          }
          atom = `(?:${parseAlt(flags, depth + 1)})`;
        } else {
          names.push(undefined);
          atom = `(${parseAlt(f, depth + 1)})`;
        }
        if (peek() !== ')') fail(`missing closing ): \`${pattern}\``);
        pos++;
      } else if (c === '[') {
        atom = parseClass(f);
      } else if (c === '.') {
        atom = f.s ? '[^]' : '[^\\n]';
      } else if (c === '^') {
        atom = f.m ? '(?<![^\\n])' : '(?<![\\s\\S])';
      } else if (c === '$') {
        atom = f.m ? '(?![^\\n])' : '(?![\\s\\S])';
      } else if (c === '\\' && peek() === 'Q') {
        pos++;
        let lit = '';
        while (peek() !== undefined && !(peek() === '\\' && peek(1) === 'E')) lit += chars[pos++];
        if (peek() === '\\') pos += 2;
        noteCase(f, lit);
        for (const ch of lit) cur.push(/[0-9A-Za-z]/.test(ch) ? ch : cp(ch.codePointAt(0)!));
        lastAtom = lit === '' ? lastAtom : 'atom';
        continue;
      } else if (c === '\\') {
        const e = parseEscape(f, false);
        if ('cp' in e) {
          const ch = String.fromCodePoint(e.cp);
          noteCase(f, ch);
          atom = isWordAscii(ch) ? ch : cp(e.cp);
        } else atom = e.cls;
      } else {
        noteCase(f, c);
        atom = /[0-9A-Za-z]/.test(c) ? c : cp(c.codePointAt(0)!);
      }
      cur.push(atom);
      lastAtom = 'atom';
    }
    branches.push(cur.join(''));
    return branches.join('|');
  };

  const source = parseAlt({ i: false, m: false, s: false, U: false }, 0);
  if (caseI > 0 && caseS > 0)
    throw new Re2Error('case-insensitive flag (?i) on only part of the pattern: not supported');
  return { source, flags: caseI > 0 ? 'gui' : 'gu', names };
}

const cache = new Map<string, Re2>();
const CACHE_MAX = 100;

/** Go regexp.Compile(pattern) as a JS RegExp (cached like OPA's regex cache); throws Re2Error. */
export function compileRe2(pattern: string): Re2 {
  let hit = cache.get(pattern);
  if (!hit) {
    const t = translateRe2(pattern);
    let re: RegExp;
    try {
      re = new RegExp(t.source, t.flags);
    } catch (e) {
      throw new Re2Error(`pattern not expressible in JS: ${(e as Error).message}`);
    }
    hit = { re, names: t.names };
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
    cache.set(pattern, hit);
  }
  return hit;
}

/**
 * Go's Regexp.FindAllStringSubmatchIndex(s, n) semantics over JS matches: n < 0 means all; an empty match right
 * after the previous match is skipped, and the search then moves on by one code point.
 */
export function findAll(r: Re2, s: string, n: number): RegExpExecArray[] {
  const out: RegExpExecArray[] = [];
  if (n === 0) return out;
  const re = r.re; // global flag: exec resumes at lastIndex; evaluation is synchronous, so sharing is safe
  let pos = 0;
  let prevEnd = -1;
  while ((n < 0 || out.length < n) && pos <= s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) break;
    const end = m.index + m[0].length;
    let accept = true;
    if (end === pos && m[0].length === 0) {
      if (m.index === prevEnd) accept = false;
      pos += pos < s.length ? (s.codePointAt(pos)! > 0xffff ? 2 : 1) : 1;
    } else pos = end;
    prevEnd = end;
    if (accept) out.push(m);
  }
  return out;
}
