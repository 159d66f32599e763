/**
 * The parts of Go's net/url that opa-envoy-plugin's input builder relies on, with Go's error behaviour:
 * url.PathUnescape and url.ParseQuery (RFC 3986 §2.1 percent-encoding; HTML form encoding for queries).
 */
import { percentDecode, queryUnescape } from './builtins.js';

/** Go url.PathUnescape: '%XX' decoded, '+' kept; `undefined` on a bad escape. */
export function pathUnescape(s: string): string | undefined {
  return percentDecode(s, false);
}

/** Go url.ParseQuery's answer: the values it could decode, and its error (the first, or a later ';' one). */
export interface ParsedQuery {
  values: Record<string, string[]>;
  error?: string;
}

/**
 * Go url.ParseQuery (Go ≥ 1.17): pairs split on '&' only; a pair containing ';' is an error ("invalid semicolon
 * separator in query"); a bad escape is an error (`invalid URL escape "%zz"`); empty pairs are skipped.
 */
export function parseQuery(query: string): ParsedQuery {
  // Null prototype: a "__proto__" parameter is a plain key, as in Go's map.
  const values: Record<string, string[]> = Object.create(null);
  let error: string | undefined;
  if (query === '') return { values };
  for (const pair of query.split('&')) {
    if (pair.includes(';')) {
      error = 'invalid semicolon separator in query'; // Go overwrites an earlier error here
      continue;
    }
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawKey = eq === -1 ? pair : pair.slice(0, eq);
    const rawValue = eq === -1 ? '' : pair.slice(eq + 1);
    const key = queryUnescape(rawKey);
    const value = key === undefined ? undefined : queryUnescape(rawValue);
    if (key === undefined || value === undefined) {
      const bad = key === undefined ? rawKey : rawValue;
      const at = bad.search(/%(?![0-9A-Fa-f]{2})/);
      error ??= `invalid URL escape ${JSON.stringify(bad.slice(at, at + 3))}`;
      continue;
    }
    if (!Object.hasOwn(values, key)) values[key] = [];
    values[key]!.push(value);
  }
  return error === undefined ? { values } : { values, error };
}
