/**
 * The hand-written CheckResponse encoder must produce exactly the bytes protobufjs (via @grpc/proto-loader)
 * produces for every response shape the pipeline builds, and decode back to the same object.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkFromConfig } from '../../src/authz/index.js';
import { encodeCheckResponse } from '../../src/authz/lib/encode-response.js';
import { authzProtos } from '../../src/authz/proto.js';
import { allowResponse, denyResponse } from '../../src/authz/respond.js';
import type { CheckResponse } from '../../src/authz/types.js';
import { loadConfig } from '../../src/config/index.js';
import { frozenClock } from '../../src/lib/clock.js';
import { checkRequest } from '../support/check-request.js';
import { agentId, testIdentity } from '../support/identity.js';
import { memorySink } from '../support/memory-sink.js';

interface Method {
  responseSerialize(v: unknown): Buffer;
  responseDeserialize(b: Buffer): CheckResponse;
}
const method = (
  authzProtos().definition['envoy.service.auth.v3.Authorization'] as unknown as { Check: Method }
).Check;

function same(r: CheckResponse): void {
  const mine = encodeCheckResponse(r);
  expect(mine.equals(method.responseSerialize(r))).toBe(true);
  expect(method.responseDeserialize(mine)).toEqual(method.responseDeserialize(method.responseSerialize(r)));
}

describe('encodeCheckResponse', () => {
  it('matches protobufjs byte for byte on the responses the pipeline really builds', async () => {
    const clock = frozenClock(1_767_225_600_000);
    const id = testIdentity(clock);
    const config = loadConfig({ env: {}, overrides: { agent: { spiffe_id: agentId('local') } } });
    const { check } = checkFromConfig(config, { trust: id.trust, ledger: memorySink(), clock });
    const { token } = id.mint({ scope: ['fs.read'] });
    const reqs = [
      checkRequest({ headers: { 'x-sigil-tool': 'fs.read', 'x-sigil-sub': 'spoof' } }, token),
      checkRequest({ headers: { 'x-sigil-tool': 'fs.write' } }, token),
      checkRequest({ headers: { 'x-sigil-tool': 'fs.read' } }),
      checkRequest({ body: '{"jsonrpc":', headers: { 'content-type': 'application/json' } }, token),
      {},
    ];
    for (const req of reqs) same(await check(req));
  });

  it('handles numeric statuses, unicode, policy metadata and empty lists', () => {
    same(
      denyResponse({
        decisionId: 'd',
        code: 'POLICY_DENIED',
        message: 'é ✓ 𝄞',
        httpStatus: 451,
        dynamicMetadata: { n: 1.5, b: false, s: '' },
      }),
    );
    same(
      allowResponse({
        decisionId: 'd',
        upstream: {},
        remove: [],
        downstream: {},
        dynamicMetadata: { big: 2 ** 40, neg: -3 },
      }),
    );
  });

  it('matches protobufjs on arbitrary header sets and metadata (property)', () => {
    const str = fc.string({ maxLength: 300, unit: 'grapheme' });
    fc.assert(
      fc.property(
        fc.dictionary(fc.stringMatching(/^[a-z-]{1,20}$/), str, { maxKeys: 12 }),
        fc.array(fc.stringMatching(/^[a-z-]{1,20}$/), { maxLength: 5 }),
        fc.dictionary(
          fc.stringMatching(/^[a-z_]{1,10}$/),
          fc.oneof(str, fc.double({ noNaN: true }), fc.boolean()),
          { maxKeys: 4 },
        ),
        fc.boolean(),
        (headers, remove, meta, allow) => {
          const r = allow
            ? allowResponse({
                decisionId: 'x',
                upstream: headers,
                remove,
                downstream: headers,
                dynamicMetadata: meta,
              })
            : denyResponse({
                decisionId: 'x',
                code: 'C',
                message: 'm',
                httpStatus: 403,
                headers,
                dynamicMetadata: meta,
              });
          same(r);
        },
      ),
      { numRuns: 200 },
    );
  });
});
