/**
 * The one parser of the times users type (`--since`/`--until` of `sigil audit query` and
 * `sigil policy replay`, the admin API's `since`/`until`): epoch milliseconds, or an ISO 8601 date or
 * RFC 3339 date-time. Stricter than `Date.parse`, which also takes `x 1` (2001), `Dec 5 2026`, Feb 30
 * (rolled into March) and offset-less date-times in the machine's local zone.
 */

/**
 * RFC 3339 §5.6 `full-date` alone (midnight UTC), or `full-date "T" partial-time time-offset` with the
 * seconds optional (ISO 8601 `HH:MM`); `t`/`z` lower case and a space for `T` as RFC 3339 §5.6 NOTE allows.
 */
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:([Zz])|([+-])(\d{2}):(\d{2})))?$/;

/**
 * Epoch ms of `v`: 1–16 digits (epoch ms, a safe integer), or an ISO 8601 date / RFC 3339 date-time at or
 * after 1970-01-01T00:00:00Z whose fields exist (no Feb 30, no 24:00, no leap second). A date-time needs
 * `Z` or an offset: the machine's zone would make the same command mean different times on two hosts.
 * @returns the time, or `undefined` if `v` is none of these (the caller throws its module's code).
 */
export function parseTimeMs(v: string): number | undefined {
  if (/^\d{1,16}$/.test(v)) {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : undefined;
  }
  const m = ISO.exec(v);
  if (m === null) return undefined;
  const field = (i: number) => Number(m[i] ?? 0);
  const [y, mo, d, h, mi, s] = [field(1), field(2), field(3), field(4), field(5), field(6)];
  if (m[4] !== undefined && m[8] === undefined && m[9] === undefined) return undefined; // no offset
  const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > daysInMonth) return undefined;
  if (h > 23 || mi > 59 || s > 59) return undefined;
  const ms = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  let offset = 0;
  if (m[9] !== undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return undefined;
    offset = (m[9] === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  const t = Date.UTC(y, mo - 1, d, h, mi, s, ms) - offset;
  return t >= 0 ? t : undefined;
}

/**
 * {@link parseTimeMs} of an argument named `name`, or the error `fail` makes (the caller's stable code).
 * @throws what `fail` returns, when `v` is not a time.
 */
export function requireTimeMs(v: string, name: string, fail: (message: string) => Error): number {
  const t = parseTimeMs(v);
  if (t === undefined) {
    throw fail(`${name} must be epoch ms or an ISO 8601 date (a date-time with Z or an offset)`);
  }
  return t;
}
