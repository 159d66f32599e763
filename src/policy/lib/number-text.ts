/**
 * The decision document as opa-envoy-plugin reads it keeps each number's text (json.Number); JSON.parse does not.
 * Only one place depends on the text: `http_status`, which the plugin converts with strconv.ParseInt, so `403.0`
 * or `4.03e2` is an error there. {@link parseResultSet} keeps such a non-integer literal as {@link NumberText}.
 */

/** A JSON number whose text is not an integer literal (a fraction or an exponent). */
export class NumberText {
  constructor(readonly text: string) {}
}

const STATUS_TOKEN = /"http_status":(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;

/**
 * Parses the Wasm ABI result set `[{"result": decision}]`. Inside a JSON string a '"' is always escaped, so the
 * token `"http_status":<number>` only matches a real key; a nested key of that name with a non-integer literal
 * also marks the decision's own `http_status` (fails closed: the decision is refused, never allowed).
 */
export function parseResultSet(raw: string): unknown {
  const rs = JSON.parse(raw) as unknown;
  if (!raw.includes('"http_status":')) return rs;
  const literal = [...raw.matchAll(STATUS_TOKEN)].map((m) => m[1]!).find((t) => /[.eE]/.test(t));
  if (literal === undefined || !Array.isArray(rs) || rs.length !== 1) return rs;
  const decision = (rs[0] as { result?: unknown }).result;
  if (
    typeof decision === 'object' &&
    decision !== null &&
    typeof (decision as Record<string, unknown>).http_status === 'number'
  )
    (decision as Record<string, unknown>).http_status = new NumberText(literal);
  return rs;
}
