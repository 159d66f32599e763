/**
 * The input document: opa-envoy-plugin's protomap of a really serialized+decoded CheckRequest (known answer
 * written from envoyauth/protomap.go), its getParsedPathAndQuery (url.PathUnescape + url.ParseQuery) and
 * getParsedBody rules (envoyauth/request.go at the commit in shared/peers/README.md).
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
  parsePathAndQuery,
  sigilInputFromHook,
} from '../../src/policy/index.js';
import { stringifyInput } from '../../src/policy/lib/exact-json.js';
import { startWorkerEvaluator } from '../../src/policy/lib/worker-evaluator.js';
import { RefCheckRequest } from '../support/reference-codec.js';
import { context, opaBuild, opaBuildSources, POLICY_DIR, sigil } from './support.js';

/** A budget no preempted CI thread will hit: these tests are about results, eval.test.ts is about time. */
const RELAXED = { timeoutMs: 10_000 };

/** Wire bytes of a CheckRequest, encoded by the reference codec (protobufjs). */
const serialize = (o: object): Uint8Array => RefCheckRequest.encode(RefCheckRequest.fromObject(o)).finish();

describe("input.attributes is the plugin's protomap", () => {
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
        time: { seconds: 1767225600, nanos: 250000000 },
        http: {
          id: 'r1',
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': '9' },
          path: '/a/b%20c?x=1&y=2&x=3',
          host: 'svc',
          size: 9,
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
    expect(input.source_principal).toBe('spiffe://sigil.mesh/agent/a/1');
  });

  it('leaves source_principal out when the source has no principal', () => {
    const input = buildPolicyInput({
      checkRequest: create(CheckRequestSchema, { attributes: { source: { service: 's' } } }),
      sigil: sigil(),
    });
    expect(input.attributes).toEqual({ source: { service: 's' } });
    expect(Object.hasOwn(input, 'source_principal')).toBe(false);
  });

  it('writes enums and 64-bit integers as numbers and leaves zero values out (proto3 implicit presence)', () => {
    const input = buildPolicyInput({
      checkRequest: create(CheckRequestSchema, {
        attributes: {
          source: {
            address: {
              address: {
                case: 'socketAddress',
                value: { protocol: 1, address: '::1', portSpecifier: { case: 'portValue', value: 0 } },
              },
            },
          },
          request: { http: { size: 2n ** 40n, method: '' } },
        },
      }),
      sigil: sigil(),
    });
    expect(input.attributes).toEqual({
      // A oneof member has explicit presence: port 0 is set, so it is there.
      source: { address: { socketAddress: { protocol: 1, address: '::1', portValue: 0 } } },
      request: { http: { size: 2 ** 40 } },
    });
  });

  it('renders Timestamps as {seconds, nanos}, zero fields left out', () => {
    const at = (seconds: string, nanos: number) =>
      (
        buildPolicyInput({
          checkRequest: create(CheckRequestSchema, {
            attributes: { request: { time: { seconds: BigInt(seconds), nanos } } },
          }),
          sigil: sigil(),
        }).attributes as { request: { time: unknown } }
      ).request.time;
    expect(at('0', 0)).toEqual({});
    expect(at('1767225600', 0)).toEqual({ seconds: 1767225600 });
    expect(at('1767225600', 1)).toEqual({ seconds: 1767225600, nanos: 1 });
    // Out of ProtoJSON's range, but protomap does not care (the plugin neither).
    expect(at('1', 2_000_000_000)).toEqual({ seconds: 1, nanos: 2_000_000_000 });
  });

  it('renders typedFilterMetadata (Any) as {typeUrl, value: base64}', () => {
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
    const rendered = { typeUrl: 'type.googleapis.com/x.Y', value: 'AQID' };
    expect(input.attributes).toEqual({
      metadataContext: { filterMetadata: { f: { a: 1 } }, typedFilterMetadata: { t: rendered } },
      routeMetadataContext: { typedFilterMetadata: { r: rendered } },
    });
  });

  it('takes a CheckRequest in ProtoJSON too (sigil policy eval, the admin API)', () => {
    const input = buildPolicyInput({
      checkRequest: {
        attributes: {
          request: { time: '2026-01-01T00:00:00.250000Z', http: { method: 'GET', size: 5, path: '/x?a=1' } },
        },
      },
      sigil: sigil(),
    });
    expect(input.attributes).toEqual({
      request: {
        time: { seconds: 1767225600, nanos: 250_000_000 },
        http: { method: 'GET', size: 5, path: '/x?a=1' },
      },
    });
    expect(input.parsed_query).toEqual({ a: ['1'] });
  });

  it('reads a ProtoJSON Any of a well-known type in typed metadata (the plugin: {typeUrl, value})', () => {
    const input = buildPolicyInput({
      checkRequest: {
        attributes: {
          metadataContext: {
            typedFilterMetadata: {
              t: { '@type': 'type.googleapis.com/google.protobuf.Duration', value: '1.5s' },
            },
          },
        },
      },
      sigil: sigil(),
    });
    expect(input.attributes).toEqual({
      metadataContext: {
        typedFilterMetadata: {
          // Duration{seconds: 1, nanos: 500000000} in protobuf bytes, as the plugin's protomap shows an Any.
          t: { typeUrl: 'type.googleapis.com/google.protobuf.Duration', value: 'CAEQgMq17gE=' },
        },
      },
    });
  });

  it('JSON that is not a CheckRequest in ProtoJSON is an input error', () => {
    for (const checkRequest of [
      { attributes: { request: { http: { method: 'GET', nope: 1 } } } },
      { attributes: { request: { time: 'yesterday' } } },
    ]) {
      expect(() => buildPolicyInput({ checkRequest, sigil: sigil() })).toThrow(
        expect.objectContaining({ code: 'POLICY_INPUT_INVALID' }),
      );
    }
  });
});

describe('parsed_path / parsed_query as the plugin: url.PathUnescape before "?", url.ParseQuery after', () => {
  const cases: [string, string[], Record<string, string[]>][] = [
    ['/api/items', ['api', 'items'], {}],
    ['/', [''], {}],
    ['', [''], {}],
    ['/a/b/', ['a', 'b', ''], {}],
    ['/a%2Fb', ['a', 'b'], {}],
    ['/a%20b+c', ['a b+c'], {}],
    ['/p?x=1&x=2&y', ['p'], { x: ['1', '2'], y: [''] }],
    ['/p?q=a+b%21', ['p'], { q: ['a b!'] }],
    ['/p?&&x=1&', ['p'], { x: ['1'] }],
    // No fragment handling: "#" is just a path (or query) character to the plugin.
    ['/p#frag?x=1', ['p#frag'], { x: ['1'] }],
    ['/p?x=1#f', ['p'], { x: ['1#f'] }],
    // Leading slashes are all trimmed (the Feb 2026 fix, commit 58c44d4ec): no authority is taken from "//".
    ['//admin/users', ['admin', 'users'], {}],
    ['//host/x/y', ['host', 'x', 'y'], {}],
    ['///x', ['x'], {}],
    // Dot segments and inner empty segments are kept as they are.
    ['/a/../b/./c', ['a', '..', 'b', '.', 'c'], {}],
    ['/a//b', ['a', '', 'b'], {}],
    ['/a\u0001b', ['a\u0001b'], {}],
    ['/%E2%9C%93', ['✓'], {}],
    ['/a%FFb?k=%FE&j=%E2%9C', ['a\ufffdb'], { k: ['\ufffd'], j: ['\ufffd\ufffd'] }],
    ['/π?ω=ψ', ['π'], { ω: ['ψ'] }],
    ['/p?__proto__=x', ['p'], Object.assign(Object.create(null), { ['__proto__']: ['x'] })],
  ];
  for (const [raw, path, query] of cases) {
    it(JSON.stringify(raw), () => {
      const got = parsePathAndQuery(raw);
      expect(got.path).toEqual(path);
      expect(JSON.stringify(got.query)).toBe(JSON.stringify(query));
    });
  }
  const rejected: [string, RegExp][] = [
    ['/%zz', /invalid URL escape "%zz"/],
    ['/a%2', /invalid URL escape "%2"/],
    ['/p?a=1;b=2&c=3', /invalid semicolon separator in query/],
    ['/p?bad=%zz&ok=1', /invalid URL escape "%zz"/],
    ['/p?ok=1&%g=1', /invalid URL escape "%g"/],
  ];
  for (const [raw, message] of rejected) {
    it(`rejects ${JSON.stringify(raw)} with POLICY_INPUT_INVALID, as the plugin answers 400`, () => {
      expect(() => parsePathAndQuery(raw)).toThrow(
        expect.objectContaining({ code: 'POLICY_INPUT_INVALID', message: expect.stringMatching(message) }),
      );
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

describe('parsed_body from raw_body, form and multipart bodies (getParsedBody)', () => {
  const raw = (headers: Record<string, string>, b: Buffer | string) =>
    buildPolicyInput(context({ method: 'POST', headers, rawBody: Buffer.from(b) }));
  const JSON_CT = { 'content-type': 'application/json' };

  it('parses raw_body (pack_as_bytes: true) like body', () => {
    const i = raw(JSON_CT, '{"method":"tools/call","params":{"name":"fs.delete"}}');
    expect(i.parsed_body).toEqual({ method: 'tools/call', params: { name: 'fs.delete' } });
    expect(i.truncated_body).toBe(false);
  });
  it('takes invalid UTF-8 in a JSON string as U+FFFD per byte, as Go does', () => {
    const b = Buffer.concat([Buffer.from('{"a":"x'), Buffer.from([0xe2, 0x9c]), Buffer.from('"}')]);
    expect(raw(JSON_CT, b).parsed_body).toEqual({ a: 'x\ufffd\ufffd' });
    expect(raw(JSON_CT, '{"a":"\\ud800"}').parsed_body).toEqual({ a: '\ufffd' });
  });
  it('x-envoy-auth-partial-body: true → null and truncated, whatever the content-type', () => {
    for (const h of [{ ...JSON_CT }, {}]) {
      const i = raw({ ...h, 'x-envoy-auth-partial-body': 'true' }, '{"a":1}');
      expect(i.parsed_body).toBeNull();
      expect(i.truncated_body).toBe(true);
    }
    expect(raw({ ...JSON_CT, 'x-envoy-auth-partial-body': 'false' }, '{"a":1}').parsed_body).toEqual({
      a: 1,
    });
  });
  it('content-length above the raw_body size → truncated; -1 is not', () => {
    expect(raw({ ...JSON_CT, 'content-length': '99' }, '{"a":1}').truncated_body).toBe(true);
    expect(raw({ ...JSON_CT, 'content-length': '-1' }, '{"a":1}').parsed_body).toEqual({ a: 1 });
    expect(raw({ ...JSON_CT, 'content-length': '+7' }, '{"a":1}').parsed_body).toEqual({ a: 1 });
  });
  it('application/x-www-form-urlencoded → {name: [values]}', () => {
    const i = raw({ 'content-type': 'application/x-www-form-urlencoded' }, 'tool=fs.delete&a=1&a=2+3&e');
    expect(i.parsed_body).toEqual({ tool: ['fs.delete'], a: ['1', '2 3'], e: [''] });
  });
  it('multipart/form-data → {name: [string | JSON]}, quoted-printable decoded, nameless parts skipped', () => {
    const b = [
      'preamble',
      '--XB',
      'Content-Disposition: form-data; name="tool"',
      '',
      'fs.delete',
      '--XB',
      'Content-Disposition: form-data; name="args"',
      'Content-Type: application/json',
      '',
      '{"path":"/etc"}',
      '--XB',
      'Content-Disposition: form-data; name="tool"',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'rm =2Drf=',
      '',
      '--XB',
      'Content-Disposition: attachment; name="ignored"',
      '',
      'x',
      '--XB--',
      '',
    ].join('\r\n');
    const i = raw({ 'content-type': 'multipart/form-data; boundary=XB' }, b);
    expect(i.parsed_body).toEqual({ tool: ['fs.delete', 'rm -rf'], args: [{ path: '/etc' }] });
    // No boundary parameter: not parsed, not an error.
    expect(raw({ 'content-type': 'multipart/form-data' }, b).parsed_body).toBeNull();
  });
  const refused: [string, Record<string, string>, string][] = [
    ['a form body with ";"', { 'content-type': 'application/x-www-form-urlencoded' }, 'a=1;b=2'],
    ['a form body with a bad escape', { 'content-type': 'application/x-www-form-urlencoded' }, 'a=%zz'],
    [
      'multipart without the closing delimiter',
      { 'content-type': 'multipart/form-data; boundary=B' },
      '--B\r\n\r\nx',
    ],
    ['multipart with a bad media type', { 'content-type': 'multipart/form-data; boundary' }, '--B--'],
    [
      'a JSON part that does not parse',
      { 'content-type': 'multipart/form-data; boundary=B' },
      '--B\r\nContent-Disposition: form-data; name="a"\r\nContent-Type: application/json\r\n\r\n{\r\n--B--',
    ],
    ['a content-length beyond int64', { ...JSON_CT, 'content-length': '9223372036854775808' }, '{}'],
  ];
  for (const [name, headers, b] of refused) {
    it(`refuses ${name} with POLICY_INPUT_INVALID (the plugin answers 400)`, () => {
      expect(() => raw(headers, b)).toThrow(expect.objectContaining({ code: 'POLICY_INPUT_INVALID' }));
    });
  }
});

describe('a body-based deny rule sees raw_body (real OPA-compiled Wasm)', () => {
  let bundle: PolicyBundle;
  beforeAll(async () => {
    bundle = await loadBundle(
      opaBuildSources({
        'p.rego': `package envoy.authz
import rego.v1
default allow := false
allow if not deny
deny if input.parsed_body.params.name == "fs.delete"
deny if "fs.delete" in input.parsed_body.tool
deny if input.truncated_body
`,
      }),
    );
  });
  const call = (name: string) => JSON.stringify({ jsonrpc: '2.0', method: 'tools/call', params: { name } });
  it('denies fs.delete sent as raw_body, allows fs.read (the control)', () => {
    const ctx = (b: string) =>
      context({ method: 'POST', headers: { 'content-type': 'application/json' }, rawBody: Buffer.from(b) });
    const denied = evaluatePolicy(bundle, ctx(call('fs.delete')), RELAXED);
    expect(denied).toMatchObject({ allowed: false, code: 'POLICY_DENIED' });
    expect(evaluatePolicy(bundle, ctx(call('fs.read')), RELAXED).allowed).toBe(true);
  });
  it('denies fs.delete in a form or multipart raw_body, and a partial body', () => {
    const form = context({
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      rawBody: Buffer.from('tool=fs.delete'),
    });
    expect(evaluatePolicy(bundle, form, RELAXED).allowed).toBe(false);
    const mp = context({
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=b' },
      rawBody: Buffer.from('--b\r\nContent-Disposition: form-data; name="tool"\r\n\r\nfs.delete\r\n--b--'),
    });
    expect(evaluatePolicy(bundle, mp, RELAXED).allowed).toBe(false);
    const partial = context({
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-envoy-auth-partial-body': 'true' },
      rawBody: Buffer.from(call('fs.read')),
    });
    expect(evaluatePolicy(bundle, partial, RELAXED)).toMatchObject({ allowed: false, code: 'POLICY_DENIED' });
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
    ['semicolon in the query', context({ path: '/api/ok?a=1;b=2' })],
    ['bad escape in the query', context({ path: '/api/ok?a=%zz' })],
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

describe('numbers a double cannot hold stay exact into the Wasm (json.Number / int64 in the plugin)', () => {
  let bundle: PolicyBundle;
  beforeAll(async () => {
    bundle = await loadBundle(
      opaBuildSources({
        'p.rego': `package envoy.authz
import rego.v1
default allow := false
allow if {
  input.parsed_body.amount <= 9007199254740992
  input.parsed_body.tiny == 0
  input.parsed_body.huge < 1e300
}
`,
      }),
    );
  });
  const ask = (body: string) =>
    evaluatePolicy(
      bundle,
      context({
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        rawBody: Buffer.from(body),
      }),
      RELAXED,
    );
  it('a body number just above 2^53, below the smallest double or beyond the largest is not rounded', () => {
    expect(ask('{"amount": 9007199254740992, "tiny": 0, "huge": 1}').allowed).toBe(true);
    // JSON.parse would make these 9007199254740992, 0 and Infinity→null: each rule must still see the real value.
    expect(ask('{"amount": 9007199254740993, "tiny": 0, "huge": 1}').allowed).toBe(false);
    expect(ask('{"amount": 1, "tiny": 1e-400, "huge": 1}').allowed).toBe(false);
    expect(ask('{"amount": 1, "tiny": 0, "huge": 1e400}').allowed).toBe(false);
  });
  it('the same in the worker and with strings that look like the marker', async () => {
    const w = await startWorkerEvaluator(
      opaBuildSources({
        'p.rego': 'package envoy.authz\nimport rego.v1\nallow if input.parsed_body.a > 9007199254740992\n',
      }),
      {},
    );
    try {
      const doc = (body: string) =>
        buildPolicyInput(
          context({
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            rawBody: Buffer.from(body),
          }),
        );
      const r = w.evaluateBounded(doc('{"a": 9007199254740993, "s": "\\u0000n1:5"}'), 0n, 10_000);
      expect(r).toMatchObject({ kind: 'result', resultSet: [{ result: true }] });
    } finally {
      await w.close();
    }
  });
  it('an int64 attribute beyond 2^53 (http.size) too', () => {
    const input = buildPolicyInput({
      checkRequest: create(CheckRequestSchema, {
        attributes: { request: { http: { size: 2n ** 60n + 1n } } },
      }),
      sigil: sigil(),
    });
    expect(stringifyInput(input)).toContain('"size":1152921504606846977');
  });
});
