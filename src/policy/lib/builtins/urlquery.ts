/** urlquery.encode_object host builtin (OPA topdown/encoding.go: Go url.Values.Encode). */
import { compareStrings, isObject } from './go-value.js';
import type { HostBuiltin } from './host.js';

/** Go url.QueryEscape (RFC 3986 §2.3 unreserved bytes stay; space → '+'). */
export const queryEscape = (s: string): string =>
  encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');

/** Keys sorted (Go byte order), each value string, array of strings or set of strings (arrives as an array). */
function encodeObject(o: unknown): string | undefined {
  if (!isObject(o)) return undefined;
  const pairs: string[] = [];
  for (const k of Object.keys(o).sort(compareStrings)) {
    const v = o[k];
    const vs = typeof v === 'string' ? [v] : Array.isArray(v) ? v : undefined;
    if (!vs?.every((x) => typeof x === 'string')) return undefined;
    for (const x of vs) pairs.push(`${queryEscape(k)}=${queryEscape(x as string)}`);
  }
  return pairs.join('&');
}

/** urlquery.encode_object. */
export function urlqueryBuiltins(): Record<string, HostBuiltin> {
  return { 'urlquery.encode_object': encodeObject };
}
