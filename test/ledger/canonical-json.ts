/**
 * Deterministic JSON (docs/ledger.md §Decision records): object keys sorted by UTF-16 code units
 * (Array.prototype.sort default, as in RFC 8785 §3.2.3), no whitespace, strings escaped by
 * JSON.stringify, numbers only as safe integers (so there is exactly one spelling of each value).
 * The reference the fast encoder (src/ledger/lib/record-json.ts) is tested against.
 */

/** Canonical JSON text of `v`; throws TypeError on non-integer numbers, undefined inside arrays, etc. */
export function canonicalJson(v: unknown): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      if (!Number.isSafeInteger(v)) throw new TypeError('only safe integers are canonical');
      return String(v);
    case 'object': {
      if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o)
        .filter((k) => o[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
    }
    default:
      throw new TypeError(`${typeof v} is not JSON`);
  }
}
