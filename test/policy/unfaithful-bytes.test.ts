/**
 * Two places where SIGIL cannot be faithful to opa-envoy-plugin and fails closed instead (docs/policy.md §5
 * row 15, §6): an allow that would send U+FFFD (which may stand for request bytes that are not UTF-8: the
 * plugin cannot marshal those and Envoy denies) is a deny POLICY_RESULT_INVALID; opa-wasm's yaml.* (YAML 1.2,
 * unlike either OPA) are refused at load. Real OPA-compiled Wasm throughout.
 */
import { describe, expect, it } from 'vitest';
import { evaluatePolicy, loadBundle, PolicyError } from '../../src/policy/index.js';
import { context, opaBuildSources } from './support.js';

const rego = (allow: string) => `package envoy.authz\nimport rego.v1\n${allow}\n`;

describe('answers SIGIL cannot send as the plugin would', () => {
  it('denies an allow whose header, query change or metadata carries U+FFFD; sends it otherwise', async () => {
    const b = await loadBundle(
      opaBuildSources({
        'p.rego':
          rego(`allow := {"allowed": true, "headers": {"x-q": concat(",", object.get(input.parsed_query, "q", []))},
  "query_parameters_to_set": {"k": object.get(input.parsed_query, "k", ["-"])},
  "dynamic_metadata": {"m": object.get(input.parsed_query, "m", ["-"])}}`),
      }),
    );
    const verdict = (path: string) => evaluatePolicy(b, context({ path }), { timeoutMs: 5000 });
    const ok = verdict('/x?q=caf%C3%A9');
    expect(ok.allowed).toBe(true);
    expect(ok.headers).toContainEqual({ key: 'x-q', value: 'café' });
    for (const path of ['/x?q=%FF', '/x?k=a%FEb', '/x?m=%C3', '/x?q=%EF%BF%BD']) {
      const v = verdict(path);
      expect(v.allowed, path).toBe(false);
      expect(v.code, path).toBe('POLICY_RESULT_INVALID');
      expect(v.httpStatus).toBe(403);
    }
  });

  it('keeps a deny as the policy gave it, U+FFFD or not (the plugin fails the RPC, Envoy denies too)', async () => {
    const b = await loadBundle(
      opaBuildSources({
        'p.rego': rego(
          'allow := {"allowed": false, "http_status": 429, "body": concat(",", input.parsed_query.q)}',
        ),
      }),
    );
    const v = evaluatePolicy(b, context({ path: '/x?q=%FF' }), { timeoutMs: 5000 });
    expect(v).toMatchObject({ allowed: false, code: 'POLICY_DENIED', httpStatus: 429, body: '\uFFFD' });
  });

  it("refuses opa-wasm's yaml.* at load, naming each (POLICY_BUILTIN_MISSING)", async () => {
    const refused = ['yaml.marshal(input.a)', 'yaml.unmarshal(input.a)', 'yaml.is_valid(input.a)'];
    const err = await loadBundle(
      opaBuildSources({ 'p.rego': rego(`allow := [${refused.join(', ')}]`) }),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PolicyError);
    expect((err as PolicyError).code).toBe('POLICY_BUILTIN_MISSING');
    for (const r of refused) expect((err as PolicyError).message).toContain(r.slice(0, r.indexOf('(')));
  });
});
