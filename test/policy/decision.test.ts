/**
 * Decision → CheckResponse mapping with opa-envoy-plugin's rules (envoyauth/response.go): a table of decision values,
 * then the example `headers` policy end to end through real Wasm.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  evaluatePolicy,
  loadBundle,
  mapDecision,
  type PolicyBundle,
  PolicyError,
} from '../../src/policy/index.js';
import { context, opaBuild, opaBuildSources, POLICY_DIR } from './support.js';

/** A budget no preempted CI thread will hit: these tests are about results, eval.test.ts is about time. */
const RELAXED = { timeoutMs: 10_000 };

function invalid(decision: unknown): string {
  try {
    mapDecision(decision, 'r', 0);
  } catch (e) {
    expect(e).toBeInstanceOf(PolicyError);
    expect((e as PolicyError).code).toBe('POLICY_RESULT_INVALID');
    return (e as PolicyError).message;
  }
  throw new Error(`decision accepted: ${JSON.stringify(decision)}`);
}

describe('mapDecision accepts what opa-envoy-plugin accepts', () => {
  it('boolean true/false', () => {
    expect(mapDecision(true, 'r', 3)).toMatchObject({
      allowed: true,
      code: 'OK',
      httpStatus: 200,
      revision: 'r',
      evalUs: 3,
    });
    expect(mapDecision(false, 'r', 0)).toMatchObject({
      allowed: false,
      code: 'POLICY_DENIED',
      httpStatus: 403,
    });
  });
  it('object allow with header map, header arrays, removals and response headers', () => {
    const v = mapDecision(
      {
        allowed: true,
        headers: { 'x-a': '1', 'x-b': ['2', '3'] },
        request_headers_to_remove: ['authorization'],
        response_headers_to_add: [{ 'x-c': '4' }, { 'x-c': '5' }],
        query_parameters_to_remove: ['token'],
        dynamic_metadata: { k: { nested: true } },
        http_status: 418, // ignored on allow
        body: 'ignored on allow',
      },
      'r',
      0,
    );
    expect(v.allowed).toBe(true);
    expect(v.httpStatus).toBe(200);
    expect(v.headers).toEqual([
      { key: 'x-a', value: '1' },
      { key: 'x-b', value: '2' },
      { key: 'x-b', value: '3' },
    ]);
    expect(v.requestHeadersToRemove).toEqual(['authorization']);
    expect(v.responseHeadersToAdd).toEqual([
      { key: 'x-c', value: '4' },
      { key: 'x-c', value: '5' },
    ]);
    expect(v.queryParametersToRemove).toEqual(['token']);
    expect(v.dynamicMetadata).toEqual({ k: { nested: true } });
    expect(v.body).toBeUndefined();
  });
  it('object deny with status, body and headers; removals ignored on deny', () => {
    const v = mapDecision(
      {
        allowed: false,
        http_status: 429,
        body: 'slow down',
        headers: { 'retry-after': '5' },
        request_headers_to_remove: [1],
      },
      'r',
      0,
    );
    expect(v).toMatchObject({ allowed: false, code: 'POLICY_DENIED', httpStatus: 429, body: 'slow down' });
    expect(v.headers).toEqual([{ key: 'retry-after', value: '5' }]);
    expect(v.requestHeadersToRemove).toEqual([]);
  });
  it('object deny without http_status → 403', () => {
    expect(mapDecision({ allowed: false }, 'r', 0).httpStatus).toBe(403);
  });
});

describe('mapDecision rejects what opa-envoy-plugin rejects (POLICY_RESULT_INVALID)', () => {
  const table: [string, unknown, RegExp][] = [
    ['string decision', 'hello', /illegal value/],
    ['number decision', 1, /illegal value/],
    ['null decision', null, /illegal value/],
    ['array decision', [true], /illegal value/],
    ['object without allowed', { headers: {} }, /missing "allowed"/],
    ['allowed is a string', { allowed: 'true' }, /allowed to be of type 'boolean'/],
    ['headers is a string', { allowed: true, headers: 'x' }, /headers must be/],
    ['header value is a number', { allowed: true, headers: { a: 1 } }, /header 'a'/],
    ['header array holds a number', { allowed: true, headers: { a: ['x', 1] } }, /header 'a'/],
    ['headers array holds a string', { allowed: true, headers: ['a'] }, /entries must be objects/],
    [
      'request_headers_to_remove is a string',
      { allowed: true, request_headers_to_remove: 'x' },
      /array of strings/,
    ],
    [
      'request_headers_to_remove holds a number',
      { allowed: true, request_headers_to_remove: [1] },
      /array of strings/,
    ],
    [
      'response_headers_to_add is a number',
      { allowed: true, response_headers_to_add: 1 },
      /response_headers_to_add/,
    ],
    ['dynamic_metadata is an array', { allowed: true, dynamic_metadata: [] }, /dynamic_metadata/],
    ['body is a number on deny', { allowed: false, body: 1 }, /body/],
    ['http_status is a string', { allowed: false, http_status: '403' }, /http_status to be of type 'number'/],
    [
      'http_status is not an HTTP status',
      { allowed: false, http_status: 999 },
      /invalid HTTP status code 999/,
    ],
    [
      'http_status 418 is not in Envoy’s StatusCode enum',
      { allowed: false, http_status: 418 },
      /invalid HTTP status code 418/,
    ],
    [
      'http_status is fractional',
      { allowed: false, http_status: 403.5 },
      /error converting JSON number to int/,
    ],
    ['http_status 0', { allowed: false, http_status: 0 }, /invalid HTTP status/],
  ];
  for (const [name, decision, message] of table) {
    it(name, () => {
      expect(invalid(decision)).toMatch(message);
    });
  }
});

describe('the headers example policy end to end (entrypoint envoy/authz/result)', () => {
  let bundle: PolicyBundle;
  beforeAll(async () => {
    bundle = await loadBundle(opaBuild(join(POLICY_DIR, 'examples/headers'), ['envoy/authz/result']), {
      entrypoint: 'envoy/authz/result',
    });
  });
  it('allow carries headers to add/remove and dynamic metadata', () => {
    const v = evaluatePolicy(
      bundle,
      context({ headers: { 'x-api-key': 'k-alpha-123', 'x-tenant': 'acme' } }),
      RELAXED,
    );
    expect(v.allowed).toBe(true);
    expect(v.code).toBe('OK');
    // Object key order is the policy's business; the multiset of headers is what Envoy gets.
    expect([...v.headers].sort((a, b) => (a.key + a.value).localeCompare(b.key + b.value))).toEqual([
      { key: 'x-policy', value: 'headers' },
      { key: 'x-policy', value: 'v1' },
      { key: 'x-tenant-verified', value: 'acme' },
    ]);
    expect(v.requestHeadersToRemove).toEqual(['x-api-key']);
    expect(v.responseHeadersToAdd).toEqual([{ key: 'x-served-by', value: 'sigil' }]);
    expect(v.dynamicMetadata).toEqual({ tenant: 'acme' });
  });
  it('missing key → 401 with the policy body', () => {
    const v = evaluatePolicy(bundle, context({ headers: { 'x-tenant': 'acme' } }), RELAXED);
    expect(v).toMatchObject({
      allowed: false,
      code: 'POLICY_DENIED',
      httpStatus: 401,
      body: 'denied: status 401',
    });
    expect(v.headers).toEqual([{ key: 'x-deny-reason', value: 'policy' }]);
  });
  it('blocked agent → 429', () => {
    const v = evaluatePolicy(
      bundle,
      context({ headers: { 'x-api-key': 'k-alpha-123', 'x-tenant': 'acme', 'user-agent': 'BadBot/2' } }),
      RELAXED,
    );
    expect(v).toMatchObject({ allowed: false, httpStatus: 429 });
  });
});

describe('results the plugin applies, through real OPA-compiled Wasm', () => {
  let bundle: PolicyBundle;
  beforeAll(async () => {
    bundle = await loadBundle(
      opaBuildSources(
        {
          'p.rego': `package envoy.authz
import rego.v1
default result := {"allowed": false}
result := {"allowed": false, "http_status": 302, "headers": {"Location": "/login"}} if input.parsed_path == ["login-first"]
result := {"allowed": false, "http_status": 403.0} if input.parsed_path == ["fractional"]
result := {"allowed": false, "http_status": 4.03e2} if input.parsed_path == ["exponent"]
result := {"allowed": false, "http_status": 400 + 3, "dynamic_metadata": {"n": {"a": [1]}, "http_status": 1.5}} if input.parsed_path == ["sum"]
result := {"allowed": false, "http_status": 401, "headers": {"WWW-Authenticate": "Basic realm=\\"x\\""}} if input.parsed_path == ["basic"]
result := {
  "allowed": true,
  "query_parameters_to_set": {"tenant": "acme", "tag": ["a", "b"]},
  "query_parameters_to_remove": ["token"],
} if input.parsed_path == ["query"]
`,
        },
        ['envoy/authz/result'],
      ),
      { entrypoint: 'envoy/authz/result' },
    );
  });
  const at = (path: string) => evaluatePolicy(bundle, context({ path }), RELAXED);
  it('a 302 with a Location header (any status the plugin accepts, not only 4xx/5xx)', () => {
    const v = at('/login-first');
    expect(v).toMatchObject({ allowed: false, code: 'POLICY_DENIED', httpStatus: 302 });
    expect(v.headers).toEqual([{ key: 'Location', value: '/login' }]);
  });
  it('a 401 keeps the header names as the policy wrote them', () => {
    expect(at('/basic').headers).toEqual([{ key: 'WWW-Authenticate', value: 'Basic realm="x"' }]);
  });
  it('http_status 403.0 or 4.03e2 is refused (strconv.ParseInt), 400 + 3 is 403', () => {
    for (const p of ['/fractional', '/exponent']) {
      expect(at(p)).toMatchObject({ allowed: false, code: 'POLICY_RESULT_INVALID', httpStatus: 403 });
      expect(at(p).message).toMatch(/error converting JSON number to int/);
    }
    // A nested key of the same name with a fractional value is not the decision's own http_status.
    expect(at('/sum')).toMatchObject({ allowed: false, code: 'POLICY_DENIED', httpStatus: 403 });
  });
  it('query_parameters_to_set and query_parameters_to_remove on allow', () => {
    const v = at('/query');
    expect(v.allowed).toBe(true);
    // The plugin walks a Go map (random order); the multiset is what Envoy gets.
    const set = [...v.queryParametersToSet].sort((a, b) => (a.key + a.value).localeCompare(b.key + b.value));
    expect(set).toEqual([
      { key: 'tag', value: 'a' },
      { key: 'tag', value: 'b' },
      { key: 'tenant', value: 'acme' },
    ]);
    expect(v.queryParametersToRemove).toEqual(['token']);
  });
});
