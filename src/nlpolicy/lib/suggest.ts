/** The nearest supported phrasing for a refused sentence (docs/policy-language.md §5). */

/** One canonical phrasing per grammar form; placeholders in angle brackets. */
export const TEMPLATES = [
  '<type> agents may call <tool>',
  '<type> agents may call <tool> and <tool>',
  '<type> agents may call <tool>, never <tool>',
  '<type> agents may not call <tool>',
  'any agent may call <tool>',
  'anyone may make GET requests to <path>',
  'agent <spiffe-id> may call <tool>',
  'agents matching <spiffe-id-prefix>/* may call <tool>',
  'agents in trust domain <trust-domain> may not call <tool>',
  'task <task-id> may call <tool>',
  'tasks starting with <prefix> may not call <tool>',
  'any agent may make GET or POST requests to <path>/*',
  'any agent may do anything',
  'any agent may call <tool> only when the delegation depth is at most <n>',
  'any agent may call <tool> only when delegated by agent <spiffe-id>',
  'any agent may call <tool> not when the chain includes <type> agents',
  'any agent may call <tool> only on weekdays between 09:00 and 17:00 in <time-zone>',
  'any agent may call <tool> only when the body is at most <n> KiB',
  'requests with a body larger than <n> MiB are denied',
  'denied requests get status 403 and message "<text>"',
] as const;

/** Levenshtein distance over arbitrary sequences. */
export function distance<T>(a: readonly T[], b: readonly T[]): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** A word's grammatical shape, so `web.search` is as near to `<tool>` as `fs.read` is. */
function shape(w: string): string {
  const l = w.toLowerCase();
  if (/^spiffe:\/\//.test(l)) return '<spiffe-id>';
  if (/^\//.test(l)) return '<path>';
  if (/^\d/.test(l)) return '<n>';
  if (/\./.test(l) || l === '*') return '<tool>';
  return l;
}

/** Shapes of a sentence's words; the word before "agents" (other than any/all/every) is a `<type>`. */
function shapes(raw: readonly string[]): string[] {
  return raw.map((w, i) =>
    raw[i + 1]?.toLowerCase() === 'agents' && !/^(any|all|every)$/i.test(w) ? '<type>' : shape(w),
  );
}

/**
 * Fills a template's placeholders with the sentence's own words of the same shape, in order; placeholders with
 * no such word stay as they are.
 */
function fill(template: string, raw: readonly string[]): string {
  const pools = new Map<string, string[]>();
  shapes(raw).forEach((s, i) => {
    if (s.startsWith('<')) pools.set(s, [...(pools.get(s) ?? []), raw[i]!]);
  });
  return template.replace(/<[a-z-]+>/g, (ph) => {
    const key = ph === '<spiffe-id-prefix>' ? '<spiffe-id>' : ph;
    return pools.get(key)?.shift() ?? ph;
  });
}

/**
 * The template nearest (word-level edit distance over shapes) to `sentence`, filled with the sentence's own
 * tools, types, IDs, paths and numbers; ties go to the earlier template.
 */
export function nearestTemplate(sentence: string): string {
  const raw = sentence.split(/[\s,]+/).filter(Boolean);
  const words = shapes(raw);
  let best: string = TEMPLATES[0];
  let bestD = Number.POSITIVE_INFINITY;
  for (const t of TEMPLATES) {
    const d = distance(words, t.split(/[\s,]+/).filter(Boolean));
    if (d < bestD) {
      best = t;
      bestD = d;
    }
  }
  return fill(best, raw);
}

/** The expected keyword a mistyped word is closest to (distance ≤ 2 and less than half its length), if any. */
export function nearestKeyword(word: string, keywords: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestD = 3;
  for (const k of keywords) {
    const d = distance([...w], [...k]);
    if (d > 0 && d < bestD && d * 2 < Math.max(k.length, w.length)) {
      best = k;
      bestD = d;
    }
  }
  return best;
}
