/** Splits a policy text into sentences of tokens with their positions (docs/policy-language.md §1). */

/** One word, comma or quoted string. */
export interface Token {
  text: string;
  /** Lower-case text, for keyword matching (quoted strings keep their case here too). */
  lower: string;
  line: number;
  column: number;
  quoted: boolean;
}

/** A sentence: its tokens, the line it starts on, and its words as written. */
export interface RawSentence {
  tokens: Token[];
  line: number;
  column: number;
  words: string;
}

/** Words joined as written: commas stick to the word before, quoted strings get their quotes back. */
export function joinWords(tokens: readonly Token[]): string {
  let s = '';
  for (const t of tokens) {
    const w = t.quoted ? JSON.stringify(t.text) : t.text;
    s += s === '' || t.text === ',' ? w : ` ${w}`;
  }
  return s;
}

/**
 * Sentences end with `.` followed by whitespace or the end (outside quotes), at a blank line, or at the end.
 * Lines starting with `#` are comments. Unterminated quotes end at the line end (the parser then refuses them).
 */
export function splitSentences(text: string): RawSentence[] {
  const out: RawSentence[] = [];
  let tokens: Token[] = [];
  const flush = () => {
    if (tokens.length > 0) {
      out.push({ tokens, line: tokens[0]!.line, column: tokens[0]!.column, words: joinWords(tokens) });
      tokens = [];
    }
  };
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  lines.forEach((raw, li) => {
    const line = li + 1;
    if (raw.trim() === '') {
      flush();
      return;
    }
    if (raw.trimStart().startsWith('#')) return;
    let i = 0;
    while (i < raw.length) {
      const c = raw[i]!;
      if (/\s/.test(c)) {
        i++;
        continue;
      }
      const column = i + 1;
      if (c === ',') {
        tokens.push({ text: ',', lower: ',', line, column, quoted: false });
        i++;
        continue;
      }
      if (c === '"') {
        const end = raw.indexOf('"', i + 1);
        const stop = end < 0 ? raw.length : end;
        const body = raw.slice(i + 1, stop);
        tokens.push({ text: body, lower: body, line, column, quoted: end >= 0 });
        i = stop + 1;
        continue;
      }
      let j = i;
      while (j < raw.length && !/[\s,"]/.test(raw[j]!)) j++;
      let word = raw.slice(i, j);
      let ends = false;
      // A trailing "." followed by whitespace/end ends the sentence; dots inside words (web.search) stay.
      if (word.endsWith('.') && (j >= raw.length || /\s/.test(raw[j]!))) {
        word = word.slice(0, -1);
        ends = true;
      }
      if (word !== '') tokens.push({ text: word, lower: word.toLowerCase(), line, column, quoted: false });
      if (ends) flush();
      i = j;
    }
  });
  flush();
  return out;
}
