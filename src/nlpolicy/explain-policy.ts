/** Rego → English, for review of what is running (docs/policy-language.md §7). */

interface Annotated {
  rule: string;
  words: string;
  line: number;
  effect: string;
}

/** The METADATA blocks the compiler writes (title, description, custom line/effect), in order. */
function annotations(rego: string): Annotated[] {
  const out: Annotated[] = [];
  const re =
    /^# METADATA\n# title: (\S+)\n# description: (".*")\n# custom:\n# {3}line: (\d+)\n# {3}effect: (allow|deny|status)$/gm;
  for (const m of rego.matchAll(re)) {
    let words: string;
    try {
      words = String(JSON.parse(m[2]!));
    } catch {
      continue;
    }
    out.push({ rule: m[1]!, words, line: Number(m[3]), effect: m[4]! });
  }
  return out;
}

const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();

/** Best-effort summary of Rego the compiler did not write: package, rules, input fields read, builtins called. */
function summarize(rego: string): string {
  const code = rego
    .split('\n')
    .map((l) => l.replace(/#.*$/, ''))
    .join('\n');
  const pkg = /^package\s+(\S+)/m.exec(code)?.[1] ?? '(none)';
  const heads = sorted(
    [
      ...code.matchAll(
        /^(default\s+)?([A-Za-z_][A-Za-z0-9_]*)(?:\([^)]*\))?\s*(?::=|=|if\b|contains\b|\{|\[)/gm,
      ),
    ]
      .map((m) => m[2]!)
      .filter((n) => !['package', 'import', 'some', 'every', 'not'].includes(n)),
  );
  const defaults = [...code.matchAll(/^default\s+([A-Za-z_][A-Za-z0-9_]*)\s*:?=\s*(.+)$/gm)].map(
    (m) => `${m[1]} = ${m[2]!.trim()}`,
  );
  const fields = sorted(
    [...code.matchAll(/\binput((?:\.[A-Za-z_][A-Za-z0-9_]*|\["[^"]*"\])+)/g)].map((m) => `input${m[1]}`),
  );
  const builtins = sorted(
    [...code.matchAll(/\b((?:[a-z][a-z0-9_]*\.)+[a-z][a-z0-9_]*)\s*\(/g)]
      .map((m) => m[1]!)
      .filter((b) => !b.startsWith('input.') && !b.startsWith('data.')),
  );
  const lines = [
    `This policy was not written by \`sigil policy compile\`; summary of package ${pkg}:`,
    `- rules: ${heads.join(', ') || '(none)'}`,
    ...(defaults.length ? [`- defaults: ${defaults.join('; ')}`] : []),
    `- input fields read: ${fields.join(', ') || '(none)'}`,
    `- builtins called: ${builtins.join(', ') || '(none)'}`,
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * English for a Rego module. For a module `sigil policy compile` wrote, each rule with the sentence it came from
 * (read from its annotations) and the decision rule; for other Rego, a best-effort summary.
 */
export function explainPolicy(rego: string): string {
  const text = rego.replace(/\r\n?/g, '\n');
  const notes = annotations(text);
  if (notes.length === 0) return summarize(text);
  notes.sort((a, b) => a.line - b.line);
  const digest = /"source_sha256": "([0-9a-f]{64})"/.exec(text)?.[1];
  const lines = [
    `Compiled from controlled English${digest ? ` (source sha256 ${digest})` : ''}.`,
    'A request is allowed when at least one allow rule matches it and no deny rule does (deny wins);',
    'every other request is denied.',
    '',
  ];
  for (const n of notes) {
    const what = n.effect === 'allow' ? 'allows' : n.effect === 'deny' ? 'denies' : 'sets the deny response';
    lines.push(`${n.rule} (line ${n.line}) ${what}: ${n.words}`);
  }
  return `${lines.join('\n')}\n`;
}
