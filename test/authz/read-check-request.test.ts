/**
 * The hot-path CheckRequest reader against @grpc/proto-loader (the contract): on every request it accepts it
 * yields the same pipeline fields as proto-loader's full decode; what it does not model it hands back
 * (undefined) so the full decoder decides as before; the lazily built full object is proto-loader's own.
 */
import type { ServiceClientConstructor } from '@grpc/grpc-js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { authzProtos, checkFromConfig } from '../../src/authz/index.js';
import { fullRequest, withFullRequest } from '../../src/authz/lib/lazy-request.js';
import { readCheckRequest } from '../../src/authz/lib/read-check-request.js';
import type { PolicyDecider } from '../../src/authz/policy-hook.js';
import type { CheckRequest } from '../../src/authz/types.js';
import { loadConfig } from '../../src/config/index.js';
import { frozenClock } from '../../src/lib/clock.js';
import { checkRequest as requestObject } from '../support/check-request.js';
import { agentId, testIdentity } from '../support/identity.js';
import { memorySink } from '../support/memory-sink.js';

let node: unknown = authzProtos().grpc;
for (const p of 'envoy.service.auth.v3.Authorization'.split('.')) node = (node as Record<string, unknown>)[p];
const def = (node as ServiceClientConstructor).service.Check!;
const encode = def.requestSerialize as (r: CheckRequest) => Buffer;
const decode = def.requestDeserialize as (b: Buffer) => CheckRequest;

/** proto-loader's object reduced to the fields the reader promises (absent stays absent). */
function pipelineFields(r: CheckRequest): CheckRequest {
  const a = r.attributes;
  if (a === undefined) return {};
  const out: NonNullable<CheckRequest['attributes']> = {};
  if (a.source !== undefined)
    out.source = a.source.principal === undefined ? {} : { principal: a.source.principal };
  if (a.request !== undefined) {
    const h = a.request.http;
    if (h === undefined) out.request = {};
    else {
      const http: Record<string, unknown> = {};
      for (const k of ['id', 'method', 'headers', 'headerMap', 'path', 'host', 'body', 'rawBody'] as const)
        if (h[k] !== undefined) http[k] = h[k];
      out.request = { http };
    }
  }
  return { attributes: out };
}

const str = fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('', 'POST', '/tools/x', 'a\u{1F600}b'));
const headerValue = fc.record(
  { key: str, value: str, rawValue: fc.uint8Array({ maxLength: 8 }).map((u) => Buffer.from(u)) },
  { requiredKeys: [] },
);
const http = fc.record(
  {
    id: str,
    method: str,
    headers: fc.dictionary(fc.string({ maxLength: 8 }), str, { maxKeys: 5 }),
    headerMap: fc.record({ headers: fc.array(headerValue, { maxLength: 3 }) }, { requiredKeys: [] }),
    path: str,
    host: str,
    scheme: str,
    size: fc.integer({ min: 0, max: 1e9 }).map(String),
    protocol: str,
    body: str,
    rawBody: fc.uint8Array({ maxLength: 16 }).map((u) => Buffer.from(u)),
  },
  { requiredKeys: [] },
);
const peer = fc.record(
  {
    address: fc.record({ socketAddress: fc.record({ address: str, portValue: fc.nat(65535) }) }),
    service: str,
    labels: fc.dictionary(fc.string({ maxLength: 5 }), str, { maxKeys: 3 }),
    principal: str,
    certificate: str,
  },
  { requiredKeys: [] },
);
const checkRequest = fc.record(
  {
    attributes: fc.record(
      {
        source: peer,
        destination: peer,
        request: fc.record({ http }, { requiredKeys: [] }),
        contextExtensions: fc.dictionary(fc.string({ maxLength: 5 }), str, { maxKeys: 3 }),
        tlsSession: fc.record({ sni: str }),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
);

describe('readCheckRequest', () => {
  it('matches proto-loader on every pipeline field of random well-formed requests', () => {
    fc.assert(
      fc.property(checkRequest, (r) => {
        const bytes = encode(r as CheckRequest);
        const narrow = readCheckRequest(bytes);
        expect(narrow).toBeDefined();
        expect(narrow).toStrictEqual(pipelineFields(decode(bytes)));
      }),
      { numRuns: 400 },
    );
  });

  it('repeated fields: last scalar and last message win, map keys last-wins (as protobufjs)', () => {
    const a = encode({ attributes: { request: { http: { method: 'GET', headers: { x: '1' } } } } });
    const b = encode({ attributes: { request: { http: { method: 'PUT', headers: { x: '2', y: '3' } } } } });
    const c = encode({ attributes: { source: { principal: 'p' } } });
    const bytes = Buffer.concat([a, b, c]);
    expect(readCheckRequest(bytes)).toStrictEqual(pipelineFields(decode(bytes)));
    expect(readCheckRequest(bytes)?.attributes?.request).toBeUndefined(); // replaced by the last attributes
  });

  it('on corrupted bytes: either the same fields as proto-loader, or undefined (full decoder decides)', () => {
    fc.assert(
      fc.property(
        checkRequest,
        fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        (r, flips, cut) => {
          const bytes = Buffer.from(encode(r as CheckRequest));
          if (bytes.length === 0) return;
          for (const [at, v] of flips) bytes[at % bytes.length] = v;
          const cutBytes = bytes.subarray(0, bytes.length - (cut % 3));
          const narrow = readCheckRequest(cutBytes);
          let full: CheckRequest | undefined;
          try {
            full = decode(cutBytes);
          } catch {
            full = undefined;
          }
          if (narrow !== undefined && full !== undefined) expect(narrow).toStrictEqual(pipelineFields(full));
          // A reader result where proto-loader throws may only come from sub-messages the reader never reads.
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('hands back what it does not model: truncation, wrong wire types, groups, bad wire types', () => {
    const ok = encode({ attributes: { request: { http: { method: 'GET', path: '/a' } } } });
    expect(readCheckRequest(ok)).toBeDefined();
    expect(readCheckRequest(ok.subarray(0, ok.length - 1))).toBeUndefined();
    // field 1 (attributes) as a varint instead of LEN
    expect(readCheckRequest(Buffer.from([0x08, 0x01]))).toBeUndefined();
    // start-group / end-group / wire type 7
    expect(readCheckRequest(Buffer.from([0x13, 0x14]))).toBeUndefined();
    expect(readCheckRequest(Buffer.from([0x0f]))).toBeUndefined();
    // length longer than the buffer
    expect(readCheckRequest(Buffer.from([0x0a, 0x05, 0x00]))).toBeUndefined();
    // an empty message and unknown varint fields are fine
    expect(readCheckRequest(Buffer.alloc(0))).toStrictEqual({});
    expect(readCheckRequest(Buffer.from([0x10, 0x96, 0x01]))).toStrictEqual({});
  });

  it('the full object built on demand is proto-loader’s own decode, built once', () => {
    const bytes = encode({
      attributes: {
        destination: { address: { socketAddress: { address: '10.0.0.1', portValue: 80 } } },
        request: { http: { method: 'GET', path: '/a', size: '12' } },
      },
    });
    let builds = 0;
    const narrow = withFullRequest(readCheckRequest(bytes)!, bytes, (b) => {
      builds++;
      return decode(b);
    });
    expect(narrow.attributes?.destination).toBeUndefined();
    const full = fullRequest(narrow);
    expect(full).toStrictEqual(decode(bytes));
    expect(fullRequest(narrow)).toBe(full);
    expect(builds).toBe(1);
    const plain: CheckRequest = { attributes: {} };
    expect(fullRequest(plain)).toBe(plain);
  });
});

describe('the pipeline with the narrow request', () => {
  const clock = frozenClock(1_767_225_600_000);
  const id = testIdentity(clock);
  const config = loadConfig({
    env: {},
    overrides: {
      agent: { spiffe_id: agentId('local') },
      authz: { routes: [{ method: 'POST', path: '/tools/{name}', tool: '{name}' }] },
    },
  });
  const { token } = id.mint({ scope: ['fs.read'] });
  const wire = encode(
    requestObject({ method: 'POST', path: '/tools/fs.read', headers: { authorization: `Bearer ${token}` } }),
  );
  // The same attributes plus destination (field 2) holding a Peer whose only byte is a wire-type-7 tag:
  // proto-loader fails on it, the reader never looks inside.
  const garbage = (() => {
    let len = 0;
    let at = 1;
    for (let shift = 0; ; shift += 7) {
      const b = wire[at++]!;
      len |= (b & 0x7f) << shift;
      if (b < 0x80) break;
    }
    const payload = Buffer.concat([wire.subarray(at, at + len), Buffer.from([0x12, 0x01, 0x0f])]);
    const varint: number[] = [];
    for (let n = payload.length; ; n >>>= 7) {
      if (n < 0x80) {
        varint.push(n);
        break;
      }
      varint.push((n & 0x7f) | 0x80);
    }
    return Buffer.concat([Buffer.from([0x0a, ...varint]), payload]);
  })();
  const narrowOf = (b: Buffer) => withFullRequest(readCheckRequest(b)!, b, decode);

  it('an external policy gets proto-loader’s full object; the built-in policy never needs it', async () => {
    const seen: CheckRequest[] = [];
    const policy: PolicyDecider = {
      decide: async (ctx) => {
        seen.push(ctx.request);
        return { allow: true };
      },
    };
    const sink = memorySink();
    const withPolicy = checkFromConfig(config, { trust: id.trust, ledger: sink, clock, policy });
    const r0 = await withPolicy.check(narrowOf(wire));
    expect(r0.status?.code).toBe(0);
    expect(seen[0]).toStrictEqual(decode(wire));
    const builtin = checkFromConfig(config, { trust: id.trust, ledger: memorySink(), clock });
    expect((await builtin.check(narrowOf(garbage))).status?.code).toBe(0);
  });

  it('with an external policy, a request only the full decoder rejects → 400 AUTHZ_BAD_REQUEST, recorded', async () => {
    expect(() => decode(garbage)).toThrow();
    const sink = memorySink();
    const policy: PolicyDecider = { decide: async () => ({ allow: true }) };
    const { check } = checkFromConfig(config, { trust: id.trust, ledger: sink, clock, policy });
    const res = await check(narrowOf(garbage));
    expect(res.okResponse).toBeUndefined();
    expect(res.deniedResponse?.status?.code).toBe(400);
    expect(sink.records.at(-1)).toMatchObject({
      decision: 'deny',
      code: 'AUTHZ_BAD_REQUEST',
      http_status: 400,
    });
  });
});
