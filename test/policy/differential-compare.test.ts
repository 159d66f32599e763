/**
 * The differential test's comparison (test/support/differential/compare.ts) on hand-built CheckResponses: it
 * excuses exactly the deliberate differences of deliberate.ts and reports everything else, so a green
 * differential run means agreement and not a comparator that looks away.
 */
import { create, type JsonObject, type MessageInitShape } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { HeaderValueOption_HeaderAppendAction as Append } from '../../gen/envoy/config/core/v3/base_pb.js';
import { CheckResponseSchema } from '../../gen/envoy/service/auth/v3/external_auth_pb.js';
import { classesOf, compareOutcomes, outcomeOf } from '../support/differential/compare.js';
import { DELIBERATE } from '../support/differential/deliberate.js';

type Init = MessageInitShape<typeof CheckResponseSchema>;
const res = (i: Init) => create(CheckResponseSchema, i);
const h = (key: string, value: string, appendAction = Append.APPEND_IF_EXISTS_OR_ADD) => ({
  header: { key, value },
  appendAction,
});
const allow = (ok: Record<string, unknown>, meta: JsonObject = { decision_id: 'p-1' }): Init => ({
  status: { code: 0 },
  httpResponse: { case: 'okResponse', value: ok },
  dynamicMetadata: meta,
});
const deny = (status: number, d: Record<string, unknown>, meta: JsonObject = {}): Init => ({
  status: { code: 7, message: 'POLICY_DENIED' },
  httpResponse: { case: 'deniedResponse', value: { status: { code: status }, ...d } },
  dynamicMetadata: meta,
});
const sigilBody = JSON.stringify({ error: 'denied by policy', code: 'POLICY_DENIED', decision_id: 's-1' });
const compare = (p: Init | Error, s: Init) =>
  compareOutcomes(outcomeOf(p instanceof Error ? p : res(p)), outcomeOf(res(s)));

describe('differential comparison', () => {
  it('excuses SIGIL headers, the stripped token and the decision ids, and nothing else', () => {
    const p = allow({ headers: [h('x-user', 'alice')], headersToRemove: ['cookie'] });
    const s = allow(
      {
        headers: [h('x-user', 'alice'), h('x-sigil-sub', 'spiffe://x', Append.OVERWRITE_IF_EXISTS_OR_ADD)],
        headersToRemove: ['cookie', 'authorization', 'x-sigil-sub'],
        responseHeadersToAdd: [h('x-sigil-receipt', 'index=1')],
      },
      { decision_id: 's-1' },
    );
    const c = compare(p, s);
    expect(c.diffs).toEqual([]);
    expect(c.excused.sort()).toEqual(['decision-id', 'sigil-headers', 'token-stripped']);
    // The same allow with one more header of the policy's is a difference.
    const extra = allow({
      headers: [h('x-user', 'alice'), h('x-role', 'admin')],
      headersToRemove: ['cookie'],
    });
    expect(compare(p, extra).diffs.map((d) => d.field)).toEqual(['headers', 'header_actions']);
  });

  it('flags SIGIL allowing what the plugin denies as FAIL-OPEN', () => {
    const p = outcomeOf(res(deny(403, { body: 'no' })));
    const s = outcomeOf(res(allow({})));
    const c = compareOutcomes(p, s);
    expect(c.diffs[0]?.field).toBe('decision');
    expect(classesOf(c.diffs, p, s)).toEqual(['FAIL-OPEN decision: plugin=deny 403 sigil=allow']);
  });

  it("compares Envoy's effective append action: the plugin's default appends, SIGIL's overwrite replaces", () => {
    const c = compare(
      allow({ headers: [h('x-user', 'a')] }),
      allow({ headers: [h('x-user', 'a', Append.OVERWRITE_IF_EXISTS_OR_ADD)] }),
    );
    expect(c.diffs).toEqual([
      { field: 'header_actions', plugin: ['x-user: append'], sigil: ['x-user: overwrite'] },
    ]);
  });

  it("accepts SIGIL's JSON error body only where the policy gave none; its content-type on a policy body counts", () => {
    const own = compare(
      deny(403, {}),
      deny(
        403,
        { body: sigilBody, headers: [h('content-type', 'application/json')] },
        { code: 'POLICY_DENIED' },
      ),
    );
    expect(own.diffs).toEqual([]);
    expect(own.excused.sort()).toEqual(['deny-code-metadata', 'sigil-error-body']);
    const policyBody = compare(
      deny(429, { body: 'slow down' }),
      deny(429, { body: 'slow down', headers: [h('content-type', 'text/plain')] }),
    );
    expect(policyBody.diffs.map((d) => d.field)).toEqual(['headers']);
  });

  it('an RPC error of the plugin must be a SIGIL deny (any status); a 400 parse error a SIGIL 400', () => {
    expect(compare(new Error('13 INTERNAL: eval'), deny(500, { body: sigilBody })).diffs).toEqual([]);
    expect(compare(new Error('13 INTERNAL: eval'), allow({})).diffs.map((d) => d.field)).toEqual([
      'decision',
    ]);
    const parse = deny(400, { body: 'request_parse_error: invalid URL escape "%zz"' });
    const s400 = deny(400, { body: sigilBody, headers: [h('content-type', 'application/json')] });
    expect(compare(parse, s400)).toEqual({ diffs: [], excused: ['input-error-message'] });
    expect(compare(parse, allow({})).diffs[0]).toEqual({
      field: 'decision',
      plugin: 'deny 400',
      sigil: 'allow',
    });
  });

  it('query changes and dynamic metadata are compared as sets and canonical JSON', () => {
    const q = (set: string[][], meta: JsonObject) =>
      allow(
        { queryParametersToSet: set.map(([key, value]) => ({ key, value })) },
        { decision_id: 'x', ...meta },
      );
    expect(
      compare(
        q(
          [
            ['a', '1'],
            ['b', '2'],
          ],
          { m: { y: 1, x: [1] } },
        ),
        q(
          [
            ['b', '2'],
            ['a', '1'],
          ],
          { m: { x: [1], y: 1 } },
        ),
      ).diffs,
    ).toEqual([]);
    expect(
      compare(q([['a', '1']], { m: { x: [1] } }), q([['a', '1']], { m: '{"x":[1]}' })).diffs.map(
        (d) => d.field,
      ),
    ).toEqual(['dynamic_metadata']);
  });

  it('every deliberate difference has an id and a reason', () => {
    expect(new Set(DELIBERATE.map((d) => d.id)).size).toBe(DELIBERATE.length);
    for (const d of DELIBERATE) expect(d.what.length).toBeGreaterThan(20);
  });
});
