/**
 * The generated protobuf-es codec (gen/, used by the authz server) against protobufjs as a reference codec
 * (test/support/reference-codec.ts): CheckRequests protobufjs encodes decode to the same message, corrupted bytes
 * either fail cleanly or decode to a stable message the pipeline can judge, and every CheckResponse the pipeline
 * builds encodes to exactly the bytes protobufjs produces for it.
 */
import { fromBinary, toBinary, toJson } from '@bufbuild/protobuf';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CheckRequestSchema,
  type CheckResponse,
  CheckResponseSchema,
} from '../../gen/envoy/service/auth/v3/external_auth_pb.js';
import { extractRequest } from '../../src/authz/extract-request.js';
import { allowResponse, denyResponse } from '../../src/authz/respond.js';
import { loadConfig } from '../../src/config/index.js';
import { frozenClock } from '../../src/lib/clock.js';
import { SigilError } from '../../src/lib/errors.js';
import { checkFromConfig } from '../../src/serve/check-from-config.js';
import { checkRequest } from '../support/check-request.js';
import { agentId, testIdentity } from '../support/identity.js';
import { memorySink } from '../support/memory-sink.js';
import { RefCheckRequest, RefCheckResponse, refObject, refStruct } from '../support/reference-codec.js';

const encodeRef = (o: object): Uint8Array => RefCheckRequest.encode(RefCheckRequest.fromObject(o)).finish();
const decode = (b: Uint8Array) => fromBinary(CheckRequestSchema, b);
type Json = { attributes?: { request?: { time?: unknown } } };

/**
 * protobuf-es' decode next to protobufjs' (the reference): all fields in JSON form, with the Timestamp as
 * seconds/nanos in both since protobufjs has no JSON mapping for it.
 */
function bothDecodes(b: Uint8Array): [unknown, unknown] {
  const m = decode(b);
  const mine = toJson(CheckRequestSchema, m, { alwaysEmitImplicit: true }) as Json;
  const time = m.attributes?.request?.time;
  if (time && mine.attributes?.request)
    mine.attributes.request.time = { seconds: String(time.seconds), nanos: time.nanos };
  return [mine, emptyAnyAsJson(refObject(RefCheckRequest, b))];
}

/**
 * The proto3 JSON form of a `google.protobuf.Any` with no type URL and no value is `{}` (protobuf-es writes that);
 * protobufjs' object form keeps both fields as empty strings. Only corrupted bytes produce such an Any here (e.g. a
 * `typed_filter_metadata` entry), so the reference side is brought to the JSON form before comparing.
 */
function emptyAnyAsJson(o: unknown): unknown {
  return JSON.parse(
    JSON.stringify(o, (_k, v: unknown) => {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
      const r = v as Record<string, unknown>;
      return Object.keys(r).length === 2 && r.type_url === '' && r.value === '' ? {} : v;
    }),
  );
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
const request = fc.record(
  {
    attributes: fc.record(
      {
        source: peer,
        destination: peer,
        request: fc.record(
          { time: fc.record({ seconds: fc.nat(4e9).map(String), nanos: fc.nat(999_999_999) }), http },
          { requiredKeys: [] },
        ),
        contextExtensions: fc.dictionary(fc.string({ maxLength: 5 }), str, { maxKeys: 3 }),
        tlsSession: fc.record({ sni: str }),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
);

describe('CheckRequest decoding', () => {
  it('matches protobufjs on random well-formed requests', () => {
    fc.assert(
      fc.property(request, (r) => {
        const [mine, ref] = bothDecodes(encodeRef(r));
        expect(mine).toEqual(ref);
      }),
      { numRuns: 400 },
    );
  });

  it('repeated fields: the last scalar wins and embedded messages merge (protobuf encoding spec)', () => {
    const a = encodeRef({ attributes: { request: { http: { method: 'GET', headers: { x: '1' } } } } });
    const b = encodeRef({
      attributes: { request: { http: { method: 'PUT', headers: { x: '2', y: '3' } } } },
    });
    const c = encodeRef({ attributes: { source: { principal: 'p' } } });
    const m = decode(Buffer.concat([a, b, c]));
    expect(m.attributes?.request?.http?.method).toBe('PUT');
    expect(m.attributes?.request?.http?.headers).toEqual({ x: '2', y: '3' });
    expect(m.attributes?.source?.principal).toBe('p');
  });

  it('corrupted bytes: a clean Error, or a stable message the pipeline judges without crashing', () => {
    fc.assert(
      fc.property(
        request,
        fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        (r, flips, cut) => {
          const bytes = Buffer.from(encodeRef(r));
          if (bytes.length === 0) return;
          for (const [at, v] of flips) bytes[at % bytes.length] = v;
          const cutBytes = bytes.subarray(0, bytes.length - (cut % 3));
          let m: ReturnType<typeof decode>;
          try {
            m = decode(cutBytes);
          } catch (e) {
            expect(e).toBeInstanceOf(Error);
            return;
          }
          // What decodes re-encodes to a message protobufjs reads the same way (unless it has no JSON form,
          // e.g. a Timestamp out of range: the policy input then fails closed, POLICY_INPUT_INVALID).
          const again = toBinary(CheckRequestSchema, m);
          let both: [unknown, unknown] | undefined;
          try {
            both = bothDecodes(again);
          } catch (e) {
            expect(String(e)).toMatch(/cannot encode .* to JSON/);
          }
          if (both) expect(both[0]).toEqual(both[1]);
          try {
            extractRequest(m, 1024);
          } catch (e) {
            expect(e).toBeInstanceOf(SigilError);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('refuses what is not protobuf: truncation, wrong wire types, bad wire types', () => {
    const ok = encodeRef({ attributes: { request: { http: { method: 'GET', path: '/a' } } } });
    expect(decode(ok).attributes?.request?.http?.path).toBe('/a');
    expect(() => decode(ok.subarray(0, ok.length - 1))).toThrow();
    // field 1 (attributes) as a varint instead of LEN
    expect(() => decode(Buffer.from([0x08, 0x01]))).toThrow();
    // an end-group without a start, wire type 7
    expect(() => decode(Buffer.from([0x14]))).toThrow();
    expect(() => decode(Buffer.from([0x0f]))).toThrow();
    // length longer than the buffer
    expect(() => decode(Buffer.from([0x0a, 0x05, 0x00]))).toThrow();
    // an empty message and unknown varint fields are fine
    expect(toJson(CheckRequestSchema, decode(Buffer.alloc(0)))).toEqual({});
    expect(toJson(CheckRequestSchema, decode(Buffer.from([0x10, 0x96, 0x01])))).toEqual({});
  });
});

/** The response's bytes equal protobufjs' encoding of the same response, and protobufjs reads them back. */
function same(r: CheckResponse): void {
  const mine = toBinary(CheckResponseSchema, r);
  const obj = toJson(CheckResponseSchema, r) as Record<string, unknown>;
  if (obj.dynamicMetadata) obj.dynamicMetadata = refStruct(obj.dynamicMetadata as Record<string, unknown>);
  const ref = RefCheckResponse.encode(RefCheckResponse.fromObject(obj)).finish();
  expect(Buffer.from(mine).equals(Buffer.from(ref))).toBe(true);
  expect(fromBinary(CheckResponseSchema, ref)).toEqual(r);
}

describe('CheckResponse encoding', () => {
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
      decode(new Uint8Array(0)),
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
    const text = fc.string({ maxLength: 300, unit: 'grapheme' });
    fc.assert(
      fc.property(
        fc.dictionary(fc.stringMatching(/^[a-z-]{1,20}$/), text, { maxKeys: 12 }),
        fc.array(fc.stringMatching(/^[a-z-]{1,20}$/), { maxLength: 5 }),
        fc.dictionary(
          fc.stringMatching(/^[a-z_]{1,10}$/),
          fc.oneof(text, fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean()),
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
