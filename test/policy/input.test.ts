/**
 * The input document: ProtoJSON of a really serialized+decoded CheckRequest (known answer written from the ProtoJSON
 * spec), Go url.Parse path/query semantics, and opa-envoy-plugin's body rules.
 */
import { join } from 'node:path';
import { create, fromBinary } from '@bufbuild/protobuf';
import { beforeAll, describe, expect, it } from 'vitest';
import { CheckRequestSchema } from '../../gen/envoy/service/auth/v3/external_auth_pb.js';
import {
  buildPolicyInput,
  evaluatePolicy,
  loadBundle,
  type PolicyBundle,
  PolicyError,
  parsePathAndQuery,
  sigilInputFromHook,
} from '../../src/policy/index.js';
import { RefCheckRequest } from '../support/reference-codec.js';
import { context, opaBuild, POLICY_DIR, sigil } from './support.js';

/** A budget no preempted CI thread will hit: these tests are about results, eval.test.ts is about time. */
const RELAXED = { timeoutMs: 10_000 };

/** Wire bytes of a CheckRequest, encoded by the reference codec (protobufjs). */
const serialize = (o: object): Uint8Array => RefCheckRequest.encode(RefCheckRequest.fromObject(o)).finish();

describe('input.attributes is ProtoJSON', () => {
  it('matches the known answer for a CheckRequest that went through the wire format', () => {
    const wire = serialize({
      attributes: {
        source: {
          address: { socketAddress: { address: '10.0.0.5', portValue: 41000 } },
          principal: 'spiffe://sigil.mesh/agent/a/1',
          labels: { app: 'x' },
        },
        destination: { address: { pipe: { path: '/run/s.sock', mode: 0 } } },
        request: {
          time: { seconds: '1767225600', nanos: 250000000 },
          http: {
            id: 'r1',
            method: 'POST',
            headers: { 'content-type': 'application/json', 'content-length': '9' },
            path: '/a/b%20c?x=1&y=2&x=3',
            host: 'svc',
            size: '9',
            protocol: 'HTTP/2',
            body: '{"k":[1]}',
            rawBody: Buffer.from([0, 1, 2, 255]),
          },
        },
        contextExtensions: { ce: 'v' },
        metadataContext: {
          filterMetadata: {
            'envoy.filters.http.jwt_authn': {
              fields: {
                user: { stringValue: 'u' },
                n: { numberValue: 2 },
                ok: { boolValue: true },
                nil: { nullValue: 'NULL_VALUE' },
                list: { listValue: { values: [{ stringValue: 'a' }, { numberValue: 1 }] } },
                obj: { structValue: { fields: { z: { numberValue: 1.5 } } } },
              },
            },
          },
        },
        tlsSession: { sni: 'svc.local' },
      },
    });
    const decoded = fromBinary(CheckRequestSchema, wire);
    // protobuf-es keeps which oneof member is set; ProtoJSON has no trace of it.
    expect(decoded.attributes?.source?.address?.address.case).toBe('socketAddress');
    const input = buildPolicyInput({ checkRequest: decoded, sigil: sigil() });
    expect(input.attributes).toEqual({
      source: {
        address: { socketAddress: { address: '10.0.0.5', portValue: 41000 } },
        principal: 'spiffe://sigil.mesh/agent/a/1',
        labels: { app: 'x' },
      },
      destination: { address: { pipe: { path: '/run/s.sock' } } },
      request: {
        time: '2026-01-01T00:00:00.250Z',
        http: {
          id: 'r1',
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': '9' },
          path: '/a/b%20c?x=1&y=2&x=3',
          host: 'svc',
          size: '9',
          protocol: 'HTTP/2',
          body: '{"k":[1]}',
          rawBody: 'AAEC/w==',
        },
      },
      contextExtensions: { ce: 'v' },
      metadataContext: {
        filterMetadata: {
          'envoy.filters.http.jwt_authn': {
            user: 'u',
            n: 2,
            ok: true,
            nil: null,
            list: ['a', 1],
            obj: { z: 1.5 },
          },
        },
      },
      tlsSession: { sni: 'svc.local' },
    });
    expect(input.parsed_path).toEqual(['a', 'b c']);
    expect(input.parsed_query).toEqual({ x: ['1', '3'], y: ['2'] });
    expect(input.parsed_body).toEqual({ k: [1] });
    expect(input.truncated_body).toBe(false);
    expect(input.version).toEqual({ encoding: 'protojson', ext_authz: 'v3' });
  });

  it('renders Timestamps with 0, 3, 6 or 9 fraction digits', () => {
    const at = (seconds: string, nanos: number) =>
      (
        buildPolicyInput({
          checkRequest: create(CheckRequestSchema, {
            attributes: { request: { time: { seconds: BigInt(seconds), nanos } } },
          }),
          sigil: sigil(),
        }).attributes.request as { time: string }
      ).time;
    expect(at('0', 0)).toBe('1970-01-01T00:00:00Z');
    expect(at('1767225600', 1000000)).toBe('2026-01-01T00:00:00.001Z');
    expect(at('1767225600', 1000)).toBe('2026-01-01T00:00:00.000001Z');
    expect(at('1767225600', 1)).toBe('2026-01-01T00:00:00.000000001Z');
  });

  it('renders typedFilterMetadata (Any, packed type not registered) as {"@type", value: base64}', () => {
    const any = { typeUrl: 'type.googleapis.com/x.Y', value: new Uint8Array([1, 2, 3]) };
    const input = buildPolicyInput({
      checkRequest: create(CheckRequestSchema, {
        attributes: {
          metadataContext: { filterMetadata: { f: { a: 1 } }, typedFilterMetadata: { t: any } },
          routeMetadataContext: { typedFilterMetadata: { r: any } },
        },
      }),
      sigil: sigil(),
    });
    const rendered = { '@type': 'type.googleapis.com/x.Y', value: 'AQID' };
    expect(input.attributes).toEqual({
      metadataContext: { filterMetadata: { f: { a: 1 } }, typedFilterMetadata: { t: rendered } },
      routeMetadataContext: { typedFilterMetadata: { r: rendered } },
    });
  });

  it('takes a CheckRequest in ProtoJSON too (sigil policy eval, the admin API), canonicalised', () => {
    const input = buildPolicyInput({
      checkRequest: {
        attributes: {
          request: { time: '2026-01-01T00:00:00.250000Z', http: { method: 'GET', size: 5, path: '/x?a=1' } },
        },
      },
      sigil: sigil(),
    });
    expect(input.attributes).toEqual({
      request: { time: '2026-01-01T00:00:00.250Z', http: { method: 'GET', size: '5', path: '/x?a=1' } },
    });
    expect(input.parsed_query).toEqual({ a: ['1'] });
  });

  it('a request with no ProtoJSON form is an input error: unknown fields, a Timestamp out of range', () => {
    for (const checkRequest of [
      { attributes: { request: { http: { method: 'GET', nope: 1 } } } },
      create(CheckRequestSchema, {
        attributes: { request: { time: { seconds: 1n, nanos: 2_000_000_000 } } },
      }),
    ]) {
      expect(() => buildPolicyInput({ checkRequest, sigil: sigil() })).toThrow(
        expect.objectContaining({ code: 'POLICY_INPUT_INVALID' }),
      );
    }
  });
});

describe('parsed_path / parsed_query follow Go url.Parse + URL.Query', () => {
  const cases: [string, string[], Record<string, string[]>][] = [
    ['/api/items', ['api', 'items'], {}],
    ['/', [''], {}],
    ['', [''], {}],
    ['/a/b/', ['a', 'b', ''], {}],
    ['/a%2Fb', ['a', 'b'], {}],
    ['/a%20b+c', ['a b+c'], {}],
    ['/p?x=1&x=2&y', ['p'], { x: ['1', '2'], y: [''] }],
    ['/p?q=a+b%21', ['p'], { q: ['a b!'] }],
    ['/p?a=1;b=2&c=3', ['p'], { c: ['3'] }],
    ['/p?bad=%zz&ok=1', ['p'], { ok: ['1'] }],
    ['/p#frag?x=1', ['p'], {}],
    ['//host/x/y', ['x', 'y'], {}],
    ['///x', ['x'], {}],
    ['/%E2%9C%93', ['✓'], {}],
    ['/a%FFb?k=%FE&j=%E2%9C', ['a\ufffdb'], { k: ['\ufffd'], j: ['\ufffd\ufffd'] }],
    ['/π?ω=ψ', ['π'], { ω: ['ψ'] }],
  ];
  for (const [raw, path, query] of cases) {
    it(JSON.stringify(raw), () => {
      expect(parsePathAndQuery(raw)).toEqual({ path, query });
    });
  }
  for (const raw of ['/%zz', '/a%2', '/a\u0001b', '/a\u007f']) {
    it(`rejects ${JSON.stringify(raw)} with POLICY_INPUT_INVALID`, () => {
      expect(() => parsePathAndQuery(raw)).toThrow(PolicyError);
      try {
        parsePathAndQuery(raw);
      } catch (e) {
        expect((e as PolicyError).code).toBe('POLICY_INPUT_INVALID');
      }
    });
  }
});

describe('parsed_body', () => {
  const body = (headers: Record<string, string>, b: string) =>
    buildPolicyInput(context({ method: 'POST', headers, body: b }));
  it('is null unless content-type says JSON', () => {
    expect(body({ 'content-type': 'text/plain' }, '{"a":1}').parsed_body).toBeNull();
    expect(body({}, '{"a":1}').parsed_body).toBeNull();
    expect(body({ 'content-type': 'application/json; charset=utf-8' }, '{"a":1}').parsed_body).toEqual({
      a: 1,
    });
  });
  it('is null with truncated_body when content-length exceeds what Envoy sent', () => {
    const i = body({ 'content-type': 'application/json', 'content-length': '100' }, '{"a":');
    expect(i.parsed_body).toBeNull();
    expect(i.truncated_body).toBe(true);
  });
  it('empty JSON body → null, not truncated', () => {
    const i = body({ 'content-type': 'application/json' }, '');
    expect(i.parsed_body).toBeNull();
    expect(i.truncated_body).toBe(false);
  });
});

describe('input errors deny (fail closed) with POLICY_INPUT_INVALID', () => {
  let bundle: PolicyBundle;
  beforeAll(async () => {
    bundle = await loadBundle(opaBuild(join(POLICY_DIR, 'default')));
  });
  const bad: [string, ReturnType<typeof context>][] = [
    [
      'unparsable JSON body',
      context({ method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":' }),
    ],
    [
      'non-numeric content-length',
      context({
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': 'abc' },
        body: '{}',
      }),
    ],
    ['bad path escape', context({ path: '/api/%G1' })],
    ['control character in path', context({ path: '/api/\n' })],
  ];
  for (const [name, ctx] of bad) {
    it(name, () => {
      // The chain is valid and the default policy would allow: the input error must still deny.
      const v = evaluatePolicy(bundle, ctx, RELAXED);
      expect(v.allowed).toBe(false);
      expect(v.code).toBe('POLICY_INPUT_INVALID');
      expect(v.httpStatus).toBe(400);
    });
  }
  it('control: the same request with a clean path is allowed', () => {
    expect(evaluatePolicy(bundle, context({ path: '/api/ok' }), RELAXED).allowed).toBe(true);
  });
});

describe('input.sigil from the authz hook context', () => {
  const hop = {
    sub: 'spiffe://sigil.mesh/agent/a/1',
    iss: 'spiffe://sigil.mesh/sigil/issuer',
    jti: 'j',
    tool_scope: ['*'],
    exp: 9,
  };
  const request = create(CheckRequestSchema);
  const chainOf = (tool_scope: string[]) => ({
    sub: hop.sub,
    iss: hop.iss,
    task_id: 't',
    aud: 'spiffe://sigil.mesh/agent/local',
    tool_scope,
    depth: 1,
    exp: 9,
    token_hash: 'h',
    hops: [hop],
  });
  it('verified chain → valid with every field', () => {
    const s = sigilInputFromHook({
      request,
      chain: chainOf(['fs.*']),
      tools: ['fs.read'],
      toolSource: 'mcp',
      publicRoute: false,
      decisionId: 'd',
      nowMs: 0,
    });
    expect(s).toEqual({
      valid: true,
      code: 'OK',
      sub: hop.sub,
      iss: hop.iss,
      task_id: 't',
      tool: 'fs.read',
      tools: ['fs.read'],
      tool_scope: ['fs.*'],
      depth: 1,
      exp: 9,
      hops: [hop],
      public_route: false,
    });
  });
  it('public route without a chain → valid false, no hops', () => {
    const s = sigilInputFromHook({
      request,
      tools: [],
      toolSource: 'none',
      publicRoute: true,
      decisionId: 'd',
      nowMs: 0,
    });
    expect(s).toEqual({ valid: false, code: 'AUTHZ_PUBLIC_ROUTE', hops: [], tools: [], public_route: true });
  });
  it('an MCP batch with several tools sets tools but no single tool', () => {
    const s = sigilInputFromHook({
      request,
      chain: chainOf(['*']),
      tools: ['a', 'b'],
      toolSource: 'mcp',
      publicRoute: false,
      decisionId: 'd',
      nowMs: 0,
    });
    expect(s.tool).toBeUndefined();
    expect(s.tools).toEqual(['a', 'b']);
  });
});
