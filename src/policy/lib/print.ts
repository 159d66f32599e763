/**
 * Rego `print()` (OPA docs "Policy Reference" §Debugging): `opa build --wasm-include-print` compiles it to the
 * host builtin `internal.print`, called with one array holding each operand's set of values. Like OPA's
 * topdown builtinPrint: an empty set prints `<undefined>`, strings print bare, other values as Rego text, and
 * several values in one operand give one line per combination.
 */

/** Rego's text of a JSON value (`{"a": 1}`, `[1, 2]`); a set arrives from Wasm as an array. */
function regoText(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(regoText).join(', ')}]`;
  if (typeof v === 'object' && v !== null)
    return `{${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)}: ${regoText(x)}`)
      .join(', ')}}`;
  return JSON.stringify(v) ?? 'null';
}

/** The lines one `print(...)` call writes. */
export function printLines(operands: unknown): string[] {
  const sets = Array.isArray(operands) ? operands : [];
  let lines: string[][] = [[]];
  for (const s of sets) {
    const values = Array.isArray(s) ? s : [s];
    const texts =
      values.length === 0 ? ['<undefined>'] : values.map((v) => (typeof v === 'string' ? v : regoText(v)));
    lines = lines.flatMap((l) => texts.map((t) => [...l, t]));
  }
  return lines.map((l) => l.join(' '));
}
