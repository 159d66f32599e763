/**
 * semver.* host builtins (OPA topdown/semver.go). OPA v1.22 parses SemVer 2.0.0 (semver.org §2, §9, §10) with
 * one extension: a leading `v` is dropped. Numeric parts have no leading zeros and fit int64; pre-release
 * numeric identifiers have no leading zeros; pre-release and build parts are non-empty.
 */
import type { HostBuiltin } from './host.js';

interface Version {
  nums: [bigint, bigint, bigint];
  pre: string;
}

const IDENTIFIERS = /^[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*$/;
const NUMERIC = /^(0|[1-9][0-9]*)$/;
const INT64_MAX = (1n << 63n) - 1n;

/** OPA's semver parser; undefined when invalid. */
export function parseSemver(input: string): Version | undefined {
  let s = input.startsWith('v') ? input.slice(1) : input;
  const plus = s.indexOf('+');
  if (plus !== -1) {
    if (!IDENTIFIERS.test(s.slice(plus + 1))) return undefined;
    s = s.slice(0, plus);
  }
  let pre = '';
  const dash = s.indexOf('-');
  if (dash !== -1) {
    pre = s.slice(dash + 1);
    s = s.slice(0, dash);
    if (!IDENTIFIERS.test(pre) || pre.split('.').some((id) => /^[0-9]+$/.test(id) && !NUMERIC.test(id)))
      return undefined;
  }
  const parts = s.split('.');
  if (parts.length !== 3 || !parts.every((p) => NUMERIC.test(p))) return undefined;
  const nums = parts.map(BigInt);
  if (nums.some((n) => n > INT64_MAX)) return undefined;
  return { nums: nums as [bigint, bigint, bigint], pre };
}

const cmp = (a: bigint | string, b: bigint | string): number => (a > b ? 1 : a < b ? -1 : 0);

/** SemVer precedence (semver.org §11) as OPA implements it. */
export function compareSemver(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) {
    const c = cmp(a.nums[i]!, b.nums[i]!);
    if (c !== 0) return c;
  }
  if (a.pre === b.pre) return 0;
  if (a.pre === '') return 1;
  if (b.pre === '') return -1;
  const as = a.pre.split('.');
  const bs = b.pre.split('.');
  for (let i = 0; ; i++) {
    const x = as[i] ?? '';
    const y = bs[i] ?? '';
    if (x === '' && y !== '') return -1;
    if (x !== '' && y === '') return 1;
    const xn = /^[0-9]+$/.test(x);
    const yn = /^[0-9]+$/.test(y);
    if (xn !== yn) return xn ? -1 : 1;
    const c = xn ? cmp(BigInt(x), BigInt(y)) : cmp(x, y);
    if (c !== 0) return c;
    const moreA = i + 1 < as.length;
    const moreB = i + 1 < bs.length;
    if (moreA !== moreB) return moreA ? 1 : -1;
    if (!moreA) return 0;
  }
}

/** semver.is_valid, semver.compare. */
export function semverBuiltins(): Record<string, HostBuiltin> {
  return {
    'semver.is_valid': (v: unknown) => typeof v === 'string' && parseSemver(v) !== undefined,
    'semver.compare': (a: unknown, b: unknown) => {
      const x = typeof a === 'string' ? parseSemver(a) : undefined;
      const y = typeof b === 'string' ? parseSemver(b) : undefined;
      return x && y ? compareSemver(x, y) : undefined;
    },
  };
}
