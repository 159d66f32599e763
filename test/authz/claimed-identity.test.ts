/**
 * The claimed identity of a token that did not verify (issue #24, docs/ledger.md §4 "Claimed identities"):
 * whatever the input, reading it never throws, and what it yields is always a claim the ledger accepts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type DecisionRecord, encodeRecord } from '../../src/ledger/index.js';
import { claimedIdentity } from '../../src/token/index.js';

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const deny = (claimed: NonNullable<ReturnType<typeof claimedIdentity>>): DecisionRecord => ({
  v: 2,
  id: 'd',
  ts: 1,
  decision: 'deny',
  code: 'TBIT_BAD_SIGNATURE',
  http_status: 401,
  claimed: { verified: false, ...claimed },
});

describe('claimedIdentity', () => {
  it('reads only the leaf hop, and only well-formed values', () => {
    const root = `${b64({ kid: 'root' })}.${b64({ sub: 'spiffe://x/root', task_id: 'R' })}.sig`;
    const leaf = `${b64({ kid: 'k', alg: 'none' })}.${b64({ sub: 'spiffe://x/agent/a/1', task_id: 'T', iss: 'spiffe://x/root', scope: 'secret' })}.sig`;
    expect(claimedIdentity(`${root}~${leaf}`)).toEqual({
      sub: 'spiffe://x/agent/a/1',
      task_id: 'T',
      kid: 'k',
      iss: 'spiffe://x/root',
    });
    expect(claimedIdentity(`${b64({})}.${b64({ sub: 'SPIFFE://X/a', task_id: '' })}.s`)).toBeUndefined();
    expect(claimedIdentity(`${b64({})}.${b64({ sub: 'spiffe://x/a' })}`)).toBeUndefined(); // not 3 parts
    // Over the caps: nothing decoded.
    expect(
      claimedIdentity(`${b64({})}.${b64({ sub: 'spiffe://x/a', p: 'x'.repeat(17_000) })}.s`),
    ).toBeUndefined();
    expect(claimedIdentity(`${'a~'.repeat(10)}${b64({})}.${b64({ sub: 'spiffe://x/a' })}.s`)).toBeUndefined();
    // Inherited members are not claims.
    expect(claimedIdentity(`${b64({})}.${b64('{"__proto__":{"sub":"spiffe://x/a"}}')}.s`)).toBeUndefined();
  });

  it('never throws, and every claim it yields is one the ledger records (fast-check)', () => {
    const value = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom(
        'spiffe://x/agent/a/1',
        'spiffe://X/a',
        `spiffe://x/${'a'.repeat(600)}`,
        'eyJhbGc.eyJz.s',
        'a b',
      ),
      fc.integer(),
      fc.constant(null),
      fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 }),
    );
    const part = fc.oneof(
      fc.record({ kid: value }, { requiredKeys: [] }).map(b64),
      fc.record({ sub: value, task_id: value, iss: value }, { requiredKeys: [] }).map(b64),
      fc.string({ maxLength: 30 }),
    );
    const token = fc.oneof(
      fc.tuple(part, part, fc.string({ maxLength: 8 })).map((p) => p.join('.')),
      fc.string({ maxLength: 200 }),
    );
    let yielded = 0;
    fc.assert(
      fc.property(token, (t) => {
        const c = claimedIdentity(t);
        if (c === undefined) return;
        yielded++;
        expect(() => encodeRecord(deny(c))).not.toThrow();
      }),
      { numRuns: 2000, seed: 24 },
    );
    expect(yielded).toBeGreaterThan(50); // the property did exercise claims
  });
});
