/**
 * Differential harness for host builtins: each table of argument lists runs through one Rego expression in
 * SIGIL's Wasm evaluator and in the real `opa eval`, with one build and one `opa eval` per family, and the
 * per-case results (or their absence: undefined) are returned side by side.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadBundle } from '../../src/policy/load-bundle.js';
import { OPA, opaBuildSources, tempDir } from './support.js';

/** One builtin under test: a Rego expression over `c` (the case's value) and the values to try. */
export interface Table {
  name: string;
  /** e.g. `semver.compare(c[0], c[1])` */
  expr: string;
  cases: unknown[];
}

/** Per table, per case index: [SIGIL, OPA] results; undefined = the expression was undefined. */
export type Outcome = Record<string, { input: unknown; sigil: unknown; opa: unknown }[]>;

/** Evaluates every table in SIGIL (Wasm + host builtins) and in `opa eval`. */
export async function runTables(tables: Table[], extraRego = ''): Promise<Outcome> {
  const rules = tables.map((t, k) => `r${k}[i] := v if {\n  some i, c in input.t${k}\n  v := ${t.expr}\n}`);
  const rego = `package t\n\n${extraRego}\n${rules.join('\n\n')}\n\nout := {${tables.map((_, k) => `"r${k}": r${k}`).join(', ')}}\n`;
  const input = Object.fromEntries(tables.map((t, k) => [`t${k}`, t.cases]));
  const bundle = await loadBundle(opaBuildSources({ 'p.rego': rego }, ['t/out']), { entrypoint: 't/out' });
  const ours = (bundle.evaluate(input, 0n) as { result: Record<string, Record<string, unknown>> }[])[0]!
    .result;

  const tmp = tempDir('sigil-builtins-oracle-');
  try {
    mkdirSync(join(tmp.dir, 'src'));
    writeFileSync(join(tmp.dir, 'src', 'p.rego'), rego);
    writeFileSync(join(tmp.dir, 'in.json'), JSON.stringify(input));
    const raw = execFileSync(
      OPA,
      [
        'eval',
        '--format',
        'json',
        '-d',
        join(tmp.dir, 'src'),
        '--input',
        join(tmp.dir, 'in.json'),
        'data.t.out',
      ],
      { maxBuffer: 64 << 20 },
    ).toString();
    const theirs = (
      JSON.parse(raw) as { result: { expressions: { value: Record<string, Record<string, unknown>> }[] }[] }
    ).result[0]!.expressions[0]!.value;
    const outcome: Outcome = {};
    tables.forEach((t, k) => {
      outcome[t.name] = t.cases.map((input, i) => ({
        input,
        sigil: ours[`r${k}`]?.[String(i)],
        opa: theirs[`r${k}`]?.[String(i)],
      }));
    });
    return outcome;
  } finally {
    tmp.cleanup();
  }
}

/** JSON with object keys sorted: results compare as values, not by Wasm's object key order. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_, x: unknown) =>
    x !== null && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
}

/** The cases where SIGIL and OPA disagree (empty when all agree). */
export function disagreements(outcome: Outcome): string[] {
  const bad: string[] = [];
  for (const [name, rows] of Object.entries(outcome)) {
    for (const r of rows) {
      if (canonical(r.sigil) !== canonical(r.opa))
        bad.push(
          `${name}(${JSON.stringify(r.input)}): SIGIL ${JSON.stringify(r.sigil)} vs OPA ${JSON.stringify(r.opa)}`,
        );
    }
  }
  return bad;
}

/** How many cases of each table both sides found defined and undefined: proves a table exercises both paths. */
export function coverage(outcome: Outcome): Record<string, { defined: number; undefined: number }> {
  return Object.fromEntries(
    Object.entries(outcome).map(([name, rows]) => [
      name,
      {
        defined: rows.filter((r) => r.opa !== undefined).length,
        undefined: rows.filter((r) => r.opa === undefined).length,
      },
    ]),
  );
}
