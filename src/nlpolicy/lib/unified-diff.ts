/** A unified diff (GNU `diff -u` layout, 3 lines of context) of two texts, line by line, by LCS. */

/** Lines of `a` → `b` as `' '`, `'-'` or `'+'` operations (longest common subsequence; O(n·m), policies are small). */
function ops(a: string[], b: string[]): [' ' | '-' | '+', string][] {
  const n = a.length;
  const m = b.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: [' ' | '-' | '+', string][] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      out.push([' ', a[i]!]);
      i++;
      j++;
    } else if (i < n && (j === m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) out.push(['-', a[i++]!]);
    else out.push(['+', b[j++]!]);
  }
  return out;
}

const lines = (s: string) => (s === '' ? [] : s.replace(/\n$/, '').split('\n'));

/** `--- a` / `+++ b` and hunks; empty string when the texts are equal. */
export function unifiedDiff(
  before: string,
  after: string,
  nameA: string,
  nameB: string,
  context = 3,
): string {
  const list = ops(lines(before), lines(after));
  if (list.every(([k]) => k === ' ')) return '';
  const out = [`--- ${nameA}`, `+++ ${nameB}`];
  let k = 0;
  while (k < list.length) {
    if (list[k]![0] === ' ') {
      k++;
      continue;
    }
    // A hunk: from `context` lines before this change to `context` lines after the last change close to it.
    let start = Math.max(0, k - context);
    let end = k;
    while (end < list.length) {
      if (list[end]![0] !== ' ') {
        end++;
        continue;
      }
      let run = 0;
      while (end + run < list.length && list[end + run]![0] === ' ') run++;
      if (end + run >= list.length || run > 2 * context) {
        end = Math.min(list.length, end + context);
        break;
      }
      end += run;
    }
    let aLine = 1;
    let bLine = 1;
    for (let x = 0; x < start; x++) {
      if (list[x]![0] !== '+') aLine++;
      if (list[x]![0] !== '-') bLine++;
    }
    const hunk = list.slice(start, end);
    const aLen = hunk.filter(([t]) => t !== '+').length;
    const bLen = hunk.filter(([t]) => t !== '-').length;
    out.push(`@@ -${aLen === 0 ? aLine - 1 : aLine},${aLen} +${bLen === 0 ? bLine - 1 : bLine},${bLen} @@`);
    for (const [t, l] of hunk) out.push(`${t}${l}`);
    k = end;
    start = end;
  }
  return `${out.join('\n')}\n`;
}
