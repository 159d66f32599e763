/**
 * HMAC builtins (src/policy/lib/builtins.ts) against the real `opa eval`: crypto.hmac.md5/sha1/sha256/sha512 and
 * crypto.hmac.equal on ASCII, UTF-8, empty and non-string arguments.
 */
import { describe, expect, it } from 'vitest';
import { type Call, mismatches, runBoth } from './builtins-oracle-exact.js';

const VALUES: unknown[] = ['', 'message', 'é\u{1F600}', 'a'.repeat(200), 5, null];

describe('HMAC builtins equal opa eval', () => {
  it('crypto.hmac.* and crypto.hmac.equal on a table of messages and keys', async () => {
    const calls: Call[] = [];
    for (const f of ['crypto.hmac.md5', 'crypto.hmac.sha1', 'crypto.hmac.sha256', 'crypto.hmac.sha512'])
      for (const m of VALUES) for (const k of ['', 'key', 'ключ', 7]) calls.push({ f, a: [m, k] });
    for (const [a, b] of [
      ['abc', 'abc'],
      ['abc', 'abd'],
      ['abc', 'abcd'],
      ['', ''],
      ['é', 'e\u0301'],
      ['x', 1],
    ])
      calls.push({ f: 'crypto.hmac.equal', a: [a, b] });
    const { ours, theirs } = await runBoth(calls);
    expect(theirs.some((o) => 'u' in o)).toBe(true);
    expect(theirs.some((o) => 'v' in o && o.v === true)).toBe(true);
    expect(mismatches(calls, ours, theirs)).toEqual([]);
  });
});
