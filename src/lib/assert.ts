/**
 * Assert helpers in the noble style: they validate and return the value, so parsing code reads
 * top to bottom. Each takes a `fail` callback that builds the module's own typed error.
 */

/** Builds the error to throw when an assertion fails. */
export type Fail = (what: string) => Error;

/** Asserts a plain JSON object (not null, not an array). */
export function assertObject(v: unknown, what: string, fail: Fail): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw fail(`${what} must be an object`);
  return v as Record<string, unknown>;
}

/** Asserts a string of at most `max` UTF-16 code units and at least `min`. */
export function assertString(v: unknown, what: string, fail: Fail, max = 4096, min = 1): string {
  if (typeof v !== 'string') throw fail(`${what} must be a string`);
  if (v.length < min || v.length > max) throw fail(`${what} must be ${min}..${max} characters`);
  return v;
}

/** Asserts a safe integer within [min, max]. */
export function assertInt(
  v: unknown,
  what: string,
  fail: Fail,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw fail(`${what} must be an integer in [${min}, ${max}]`);
  }
  return v;
}

/** Asserts an array of at most `max` items, each validated by `item`. */
export function assertArray<T>(
  v: unknown,
  what: string,
  fail: Fail,
  item: (x: unknown, i: number) => T,
  max = 1024,
  min = 0,
): T[] {
  if (!Array.isArray(v)) throw fail(`${what} must be an array`);
  if (v.length < min || v.length > max) throw fail(`${what} must have ${min}..${max} items`);
  return v.map(item);
}
