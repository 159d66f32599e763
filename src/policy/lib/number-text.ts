/**
 * The decision document as opa-envoy-plugin reads it keeps each number's text (json.Number); JSON.parse does not.
 * Only one place depends on the text: `http_status`, which the plugin converts with strconv.ParseInt, so `403.0`
 * or `4.03e2` is an error there. {@link parseResultSet} keeps such a non-integer literal as {@link NumberText}.
 */

/** A JSON number whose text is not an integer literal (a fraction or an exponent). */
export class NumberText {
  constructor(readonly text: string) {}
}

/**
 * The number text of the decision's own `http_status` in the ABI result set `[{"result":{...}}]` as
 * opa_json_dump writes it (compact): the decision's keys are the strings at nesting depth 3.
 */
function statusToken(raw: string): string | undefined {
  let depth = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === '"') {
      const start = i++;
      while (i < raw.length && raw[i] !== '"') i += raw[i] === '\\' ? 2 : 1;
      if (depth === 3 && i === start + 12 && raw.startsWith('http_status":', start + 1))
        return /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(raw.slice(i + 2, i + 64))?.[0];
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return undefined;
}

/**
 * Parses the Wasm ABI result set `[{"result": decision}]`, keeping a non-integer literal of the decision's
 * `http_status` as {@link NumberText}.
 */
export function parseResultSet(raw: string): unknown {
  const rs = JSON.parse(raw) as unknown;
  if (!raw.includes('"http_status":')) return rs;
  const literal = statusToken(raw);
  if (literal === undefined || !/[.eE]/.test(literal) || !Array.isArray(rs) || rs.length !== 1) return rs;
  const decision = (rs[0] as { result?: unknown }).result;
  if (typeof decision === 'object' && decision !== null && !Array.isArray(decision))
    (decision as Record<string, unknown>).http_status = new NumberText(literal);
  return rs;
}
