/**
 * Oracle for host-builtin tests: evaluates a table of builtin calls in SIGIL's Wasm (host builtins) and in the real
 * `opa eval` (OPA's Go builtins) from the SAME input JSON text, in one `opa eval` run per table. Each call's outcome
 * is `{v: value}` or `{u: true}` (undefined: OPA's non-strict builtin errors). Integers of 16+ digits are compared
 * as exact digit strings, so nanosecond timestamps cannot hide rounding.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadBundle } from '../../src/policy/index.js';
import { OPA, opaBuildSources, tempDir } from './support.js';

/** One call: builtin name and its arguments (bigint for exact int64 numbers). */
export interface Call {
  f: string;
  a: unknown[];
}

/** An outcome: a value, or undefined. */
export type Outcome = { v: unknown } | { u: true };

/** JSON text of `v` with bigints as bare integer literals. */
export function jsonText(v: unknown): string {
  return JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? `@@big:${x}` : x)).replace(
    /"@@big:(-?\d+)"/g,
    '$1',
  );
}

/** The real JSON.parse (runBoth swaps the global one for the duration of an evaluation). */
const jsonParse = JSON.parse;

/** Parses JSON keeping 16+-digit integers as "#digits" strings (exact). */
function parseExact(text: string): unknown {
  return jsonParse(text.replace(/([[,:]\s*)(-?\d{16,})(?=\s*[,\]}])/g, '$1"#$2"'));
}

/** The Rego module dispatching each call to its builtin (one function clause per builtin). */
function program(calls: Call[]): string {
  const arity = new Map<string, number>();
  for (const c of calls) arity.set(c.f, Math.max(arity.get(c.f) ?? 0, c.a.length));
  const clauses = [...arity].map(
    ([f, n]) =>
      `call(c) := ${f}(${Array.from({ length: n }, (_, i) => `c.a[${i}]`).join(', ')}) if c.f == ${JSON.stringify(f)}`,
  );
  return `package envoy.authz\n\n${clauses.join('\n')}\n\nres(c) := {"v": v} if {\n\tv := call(c)\n} else := {"u": true}\n\nallow := [res(c) | some c in input.cases]\n`;
}

/** Each call's outcome in SIGIL's Wasm (host builtins), from the exact input JSON text. */
export async function evalSigil(calls: Call[], nowNs = 1_767_225_600_000_000_000n): Promise<Outcome[]> {
  const bundle = await loadBundle(opaBuildSources({ 'p.rego': program(calls) }));
  const input = Buffer.from(jsonText({ cases: calls }), 'utf8');
  const parse = JSON.parse;
  // The result set is the only text opa-wasm parses that starts like this; builtin arguments stay untouched.
  JSON.parse = ((text: string, reviver?: Parameters<typeof JSON.parse>[1]) =>
    String(text).startsWith('[{"result"')
      ? parseExact(String(text))
      : parse.call(JSON, text, reviver)) as typeof JSON.parse;
  try {
    const rs = bundle.evaluate(input.buffer.slice(input.byteOffset, input.byteOffset + input.length), nowNs);
    return (rs as { result: Outcome[] }[])[0]!.result;
  } finally {
    JSON.parse = parse;
  }
}

/** Each call's outcome in the real `opa eval` (one run); throws when opa eval fails as a whole. */
export function evalOpa(calls: Call[]): Outcome[] {
  const tmp = tempDir('sigil-builtins-oracle-');
  try {
    const dir = join(tmp.dir, 'src');
    mkdirSync(dir);
    writeFileSync(join(dir, 'p.rego'), program(calls));
    writeFileSync(join(tmp.dir, 'input.json'), jsonText({ cases: calls }));
    const out = execFileSync(
      OPA,
      [
        'eval',
        '--format',
        'json',
        '-d',
        dir,
        '--input',
        join(tmp.dir, 'input.json'),
        'data.envoy.authz.allow',
      ],
      { maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] },
    ).toString('utf8');
    return (parseExact(out) as { result: { expressions: { value: Outcome[] }[] }[] }).result[0]!
      .expressions[0]!.value;
  } finally {
    tmp.cleanup();
  }
}

/** Runs `calls` through SIGIL and through `opa eval`; returns both outcome lists (same order as `calls`). */
export async function runBoth(
  calls: Call[],
  nowNs?: bigint,
): Promise<{ ours: Outcome[]; theirs: Outcome[] }> {
  return { ours: await evalSigil(calls, nowNs), theirs: evalOpa(calls) };
}

/** Readable label for a call in assertion messages (long strings shortened to their ends). */
export const label = (c: Call) =>
  `${c.f}(${jsonText(c.a.map((a) => (typeof a === 'string' && a.length > 60 ? `${a.slice(0, 20)}…${a.slice(-30)}` : a))).slice(1, -1)})`;

/** JSON text with object keys sorted (OPA's Go output and opa-wasm differ in key order, which Rego cannot see). */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_, x) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
}

/** The calls whose outcomes differ, as readable lines (empty when SIGIL and OPA agree on all). */
export function mismatches(
  calls: Call[],
  ours: Outcome[],
  theirs: Outcome[],
  allowed: (c: Call, ours: Outcome, theirs: Outcome) => boolean = () => false,
): string[] {
  return calls.flatMap((c, i) =>
    canonical(ours[i]) === canonical(theirs[i]) || allowed(c, ours[i]!, theirs[i]!)
      ? []
      : [`${label(c)}: SIGIL ${canonical(ours[i])}, OPA ${canonical(theirs[i])}`],
  );
}
