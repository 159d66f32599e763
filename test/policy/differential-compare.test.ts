/**
 * The differential test's comparison (test/support/differential/compare.ts) on hand-built CheckResponses: it
 * excuses exactly the deliberate differences of deliberate.ts and reports everything else, so a green
 * differential run means agreement and not a comparator that looks away.
 */

import { readFileSync } from 'node:fs';
import { create, type JsonObject, type MessageInitShape } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { HeaderValueOption_HeaderAppendAction as Append } from '../../gen/envoy/config/core/v3/base_pb.js';
import { CheckResponseSchema } from '../../gen/envoy/service/auth/v3/external_auth_pb.js';
import { classesOf, compareOutcomes, outcomeOf } from '../support/differential/compare.js';
import { DELIBERATE } from '../support/differential/deliberate.js';
import type { Case } from '../support/differential/generate.js';

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

  it('excuses a refusal before the policy only when the request meets the condition of rows 2 and 3', () => {
    const req = (over: Partial<Case>): Case => ({
      method: 'GET',
      path: '/api/items',
      headers: {},
      time: { seconds: 0n, nanos: 0 },
      ...over,
    });
    const refuse = (code: string, status: number) =>
      outcomeOf(
        res({
          status: { code: 7, message: code },
          httpResponse: { case: 'deniedResponse', value: { status: { code: status }, body: sigilBody } },
          dynamicMetadata: { code, decision_id: 's' },
        }),
      );
    const p = outcomeOf(res(allow({})));
    const excused = (c: Case, code: string, status: number) =>
      compareOutcomes(p, refuse(code, status), 'authorization', c).excused.includes('pre-policy-refusal');
    // The path really is not normalised / is.
    expect(excused(req({ path: '/a/../admin' }), 'AUTHZ_BAD_REQUEST', 400)).toBe(true);
    expect(excused(req({ path: '//admin?x=1' }), 'AUTHZ_BAD_REQUEST', 400)).toBe(true);
    expect(excused(req({ path: '/a%2Fb' }), 'AUTHZ_BAD_REQUEST', 400)).toBe(true);
    expect(excused(req({ path: '/api/items/' }), 'AUTHZ_BAD_REQUEST', 400)).toBe(false);
    expect(excused(req({ path: '/api?x=/../' }), 'AUTHZ_BAD_REQUEST', 400)).toBe(false);
    // Wrong status for the code: not the row's refusal.
    expect(excused(req({ path: '/a/../admin' }), 'AUTHZ_BAD_REQUEST', 403)).toBe(false);
    // Truncation: JSON-like or empty bodies only; a truncated text body reaches the policy.
    const cut = { 'content-length': '99' };
    expect(excused(req({ body: '{"a":1}', headers: cut }), 'AUTHZ_BODY_PARTIAL', 413)).toBe(true);
    expect(
      excused(req({ headers: { 'x-envoy-auth-partial-body': 'true' } }), 'AUTHZ_BODY_PARTIAL', 413),
    ).toBe(true);
    expect(excused(req({ body: 'plain text', headers: cut }), 'AUTHZ_BODY_PARTIAL', 413)).toBe(false);
    expect(excused(req({ body: '{"a":1}' }), 'AUTHZ_BODY_PARTIAL', 413)).toBe(false);
    // Invalid bytes / JSON / JSON-RPC, only in a body that is JSON-like.
    const bad = Uint8Array.from([0x7b, 0xff, 0x7d]);
    expect(excused(req({ rawBody: bad }), 'AUTHZ_INVALID_ENCODING', 400)).toBe(true);
    expect(excused(req({ rawBody: Uint8Array.from([0x61, 0xff]) }), 'AUTHZ_INVALID_ENCODING', 400)).toBe(
      false,
    );
    expect(excused(req({ body: '{"a":' }), 'AUTHZ_BODY_INVALID', 400)).toBe(true);
    expect(excused(req({ body: '{"jsonrpc":"1.0","method":"x"}' }), 'AUTHZ_BODY_INVALID', 400)).toBe(true);
    expect(excused(req({ body: '{"a":1}' }), 'AUTHZ_BODY_INVALID', 400)).toBe(false);
    expect(excused(req({ body: `${'['.repeat(65)}${']'.repeat(65)}` }), 'AUTHZ_BODY_TOO_DEEP', 400)).toBe(
      true,
    );
    expect(excused(req({ body: '[[1]]' }), 'AUTHZ_BODY_TOO_DEEP', 400)).toBe(false);
    const gz = { 'content-encoding': 'gzip' };
    expect(excused(req({ body: 'x', headers: gz }), 'AUTHZ_UNSUPPORTED_ENCODING', 415)).toBe(true);
    expect(excused(req({ headers: gz }), 'AUTHZ_UNSUPPORTED_ENCODING', 415)).toBe(false);
    // Never an allow, never another code, never without the request.
    expect(compareOutcomes(p, refuse('AUTHZ_BAD_REQUEST', 400)).diffs[0]?.field).toBe('decision');
    expect(excused(req({ path: '/a/../admin' }), 'POLICY_DENIED', 400)).toBe(false);
  });

  it("drops only the policy headers SIGIL refuses to send (row 8), and the plugin's \\ufffd only for non-UTF-8 requests (row 15)", () => {
    const req: Case = { method: 'GET', path: '/x?q=%FF', headers: {}, time: { seconds: 0n, nanos: 0 } };
    const p = outcomeOf(
      res(
        allow({
          headers: [h('x-ok', 'a'), h('x-multi', 'a\nb'), h('bad name', 'v'), h('x-q', '["\\ufffd"]')],
        }),
      ),
    );
    const s = outcomeOf(res(allow({ headers: [h('x-ok', 'a'), h('x-q', '["\uFFFD"]')] })));
    const c = compareOutcomes(p, s, 'authorization', req);
    expect(c.diffs).toEqual([]);
    expect(c.excused.sort()).toEqual(['decision-id', 'filtered-headers', 'replaced-bytes']);
    // A plain request: the escape and the character are different texts.
    const plain = compareOutcomes(p, s, 'authorization', { ...req, path: '/x?q=%C3%A9' });
    expect(plain.diffs.map((d) => d.field)).toEqual(['headers', 'header_actions'].slice(0, 1));
  });

  it('every deliberate difference has an id, a reason and rows of the docs/policy.md §5 table', () => {
    expect(new Set(DELIBERATE.map((d) => d.id)).size).toBe(DELIBERATE.length);
    for (const d of DELIBERATE) {
      expect(d.what.length).toBeGreaterThan(20);
      expect(d.rows.length).toBeGreaterThan(0);
    }
    // The table's rows: each is implemented here, or is one a run cannot show (deliberate.ts's header).
    const doc = readFileSync('docs/policy.md', 'utf8');
    const table = doc.slice(
      doc.indexOf('### Deliberate differences from opa-envoy-plugin'),
      doc.indexOf('## 6.'),
    );
    const rows = [...table.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1]));
    const covered = new Set([...DELIBERATE.flatMap((d) => d.rows), 1, 4, 9, 13, 14]);
    expect(rows).toEqual(Array.from({ length: rows.length }, (_, i) => i + 1));
    expect([...covered].sort((a, b) => a - b)).toEqual(rows);
  });
});
