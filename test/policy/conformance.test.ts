/**
 * Conformance: for each example policy and 250 generated requests, SIGIL's Wasm decision equals the real OPA CLI's
 * `opa eval` on the same Rego, data and input document. One `opa eval` call per policy evaluates all inputs through a
 * wrapper rule (`with input as x`), so the whole file stays well under a minute.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  buildPolicyInput,
  loadBundle,
  mapDecision,
  type PolicyContext,
  PolicyError,
} from '../../src/policy/index.js';
import { context, OPA, opaBuild, POLICY_DIR, prng, sigil, tempDir } from './support.js';

const N = 250;
const NOW_NS = 1_767_225_600_000_000_000n;
const tmp = tempDir('sigil-conformance-');
afterAll(() => tmp.cleanup());

const b64 = (s: string) => Buffer.from(s).toString('base64');
const b64u = (s: string) => Buffer.from(s).toString('base64url');
const jwt = (payload: object) =>
  `${b64u('{"alg":"HS256","typ":"JWT"}')}.${b64u(JSON.stringify(payload))}.${b64u('sig')}`;

/** One random request touching every feature the example policies read. */
function generate(seed: number): PolicyContext {
  const r = prng(seed);
  // A "coherent" request draws from the values the policies accept, so allows are common enough to matter.
  const good = r.chance(0.45);
  const method = r.pick(['GET', 'GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD']);
  const path = good
    ? r.pick(['/api/items', '/api/items/42', '/api/items?limit=5', '/healthz'])
    : r.pick([
        '/api/items',
        '/api/items/42',
        '/api/items/42?x=1&x=2',
        '/api/users/7',
        '/api/items?limit=5',
        '/api/items?limit=50&limit=1',
        '/api/items?limit=x',
        '/api/items?limit=500',
        '/healthz',
        '/healthz?probe=1',
        '/admin/panel',
        '/internal/secrets/key',
        '/api%2Fitems',
        '/api/items/%E2%9C%93',
        '//evil/api/items',
        '/api/items#frag',
        '/search?q=a+b&limit=200',
        '/api/items/a;b?c=d', // ';' in a query is a 400 (input.test.ts)
        '/',
      ]);
  const headers: Record<string, string> = {};
  if (r.chance(0.7)) {
    headers.authorization = r.pick([
      `Basic ${b64('alice:pw')}`,
      `Basic ${b64('bob:pw')}`,
      `Basic ${b64('carol:pw')}`,
      `Basic ${b64('mallory:pw')}`,
      `Basic ${b64('nocolon')}`,
      'Basic !!notbase64!!',
      'Bearer abc.def.ghi',
      'Basic',
    ]);
  }
  if (good || r.chance(0.6))
    headers['x-api-key'] = good
      ? r.pick(['k-alpha-123', 'k-beta-456'])
      : r.pick(['k-alpha-123', 'k-wrong', '']);
  if (good || r.chance(0.7))
    headers['x-tenant'] = good
      ? r.pick(['acme', 'acme-2'])
      : r.pick(['acme', 'Acme', 'x', 'a'.repeat(40), 'tenant_1']);
  if (r.chance(0.5))
    headers['user-agent'] = good
      ? r.pick(['curl/8.5', 'Mozilla/5.0'])
      : r.pick(['curl/8.5', 'BadBot/1.0', 'xBADBOTx']);
  if (r.chance(good ? 0.2 : 0.4)) {
    headers['x-user-jwt'] = r.pick([
      jwt({ task: 'task-42', scope: ['fs.read', 'fs.write'] }),
      jwt({ task: 'task-42', scope: ['db.write'] }),
      jwt({ task: 'other', scope: ['fs.read'] }),
      jwt({ task: 'sandbox-3', scope: ['fs.write'] }),
      'not.a.jwt',
      'onlyonepart',
      `${b64u('[1]')}.${b64u('{"task":"task-42"}')}.`,
      `${b64u('{"alg":"none"}')}.${b64u('"str"')}.`,
    ]);
  }
  let body: string | undefined;
  if (method === 'POST' && r.chance(0.6)) {
    headers['content-type'] = r.pick(['application/json', 'application/json; charset=utf-8', 'text/plain']);
    body = r.pick(['{"name":"x","n":3}', '{"nested":{"a":[1,2,{"b":null}]}}', '[]', '"s"']);
  }
  const subs = [
    'spiffe://sigil.mesh/agent/planner/1',
    'spiffe://sigil.mesh/agent/coder/7',
    'spiffe://sigil.mesh/agent/ops/2',
    'spiffe://other.mesh/agent/x/1',
    'spiffe://sigil.mesh/agent/unknown/9',
  ];
  const depth = 1 + r.int(good ? 2 : 4);
  const hops = Array.from({ length: good || r.chance(0.9) ? depth : depth + 1 }, (_, i) => ({
    sub: r.pick(subs),
    iss:
      i === 0
        ? good
          ? 'spiffe://sigil.mesh/sigil/issuer'
          : r.pick(['spiffe://sigil.mesh/sigil/issuer', 'spiffe://evil/issuer'])
        : r.pick(subs),
    jti: `j${i}`,
    tool_scope: r.pick([['*'], ['fs.*'], ['search', 'fs.read']]),
    exp: good ? 1767225900 : r.pick([1767225900, 1600000000]),
  }));
  const tool = good
    ? r.pick(['fs.read', 'fs.write', 'search', 'db.write'])
    : r.pick(['fs.read.meta', 'fs.write', 'shell.exec']);
  const s =
    good || r.chance(0.8)
      ? sigil({
          sub: good ? r.pick(subs.slice(0, 3)) : r.pick(subs),
          depth,
          hops,
          tool,
          tools: [tool],
          task_id: good ? 'task-42' : r.pick(['task-42', 'sandbox-3', 'other']),
        })
      : {
          valid: false,
          code: r.pick(['TBIT_EXPIRED', 'AUTHZ_PUBLIC_ROUTE']),
          hops: [],
          tools: [],
          public_route: r.chance(0.5),
        };
  return context({ method, path, headers, ...(body !== undefined ? { body } : {}) }, s);
}

interface Case {
  name: string;
  dir: string;
  entrypoint: string;
}

const CASES: Case[] = [
  {
    name: 'method/path RBAC (Basic auth users, role → method+glob)',
    dir: 'examples/rbac',
    entrypoint: 'envoy/authz/allow',
  },
  {
    name: 'header checks with a structured decision',
    dir: 'examples/headers',
    entrypoint: 'envoy/authz/result',
  },
  {
    name: 'JWT-claim-style checks on input.sigil + io.jwt.decode',
    dir: 'examples/sigil-claims',
    entrypoint: 'envoy/authz/allow',
  },
  { name: 'data.json lookups', dir: 'examples/data-lookup', entrypoint: 'envoy/authz/allow' },
  { name: 'default policy', dir: 'default', entrypoint: 'envoy/authz/allow' },
];

type Outcome = { d: unknown } | { u: true };

/** Every input through the real OPA CLI in one call. */
function opaEvalAll(dir: string, entrypoint: string, inputs: unknown[], tag: string): Outcome[] {
  const ref = `data.${entrypoint.split('/').join('.')}`;
  const wrapper = join(tmp.dir, `${tag}-wrapper.rego`);
  writeFileSync(
    wrapper,
    `package sigil_conformance\n\nresults := [one(x) | some x in input]\n\none(x) := {"d": d} if {\n\td := ${ref} with input as x\n} else := {"u": true}\n`,
  );
  const inputFile = join(tmp.dir, `${tag}-inputs.json`);
  writeFileSync(inputFile, JSON.stringify(inputs));
  const out = execFileSync(
    OPA,
    [
      'eval',
      '--format',
      'json',
      '-d',
      dir,
      '-d',
      wrapper,
      '--input',
      inputFile,
      'data.sigil_conformance.results',
    ],
    {
      maxBuffer: 64 << 20,
    },
  );
  const parsed = JSON.parse(out.toString('utf8')) as { result: { expressions: { value: Outcome[] }[] }[] };
  return parsed.result[0]!.expressions[0]!.value;
}

describe('SIGIL Wasm decisions equal opa eval', () => {
  for (const [ci, c] of CASES.entries()) {
    it(`${c.name}: ${N} generated inputs`, async () => {
      const dir = join(POLICY_DIR, c.dir);
      const bundle = await loadBundle(opaBuild(dir, [c.entrypoint]), { entrypoint: c.entrypoint });
      const seeds = Array.from({ length: N }, (_, i) => 1000 * (ci + 1) + i);
      const inputs = seeds.map((s) => buildPolicyInput(generate(s)));
      const ours: Outcome[] = inputs.map((input) => {
        const rs = bundle.evaluate(input, NOW_NS) as { result: unknown }[];
        return rs.length === 0 ? { u: true } : { d: rs[0]!.result };
      });
      const theirs = opaEvalAll(dir, c.entrypoint, inputs, c.dir.replace(/\W/g, '_'));
      expect(theirs).toHaveLength(N);
      for (let i = 0; i < N; i++) {
        expect(ours[i], `seed ${seeds[i]} input ${JSON.stringify(inputs[i])}`).toEqual(theirs[i]);
      }
      // Not vacuous: both outcomes occur often, and every decision maps onto a CheckResponse.
      let allowed = 0;
      for (const o of ours) {
        if (!('d' in o)) continue;
        try {
          if (mapDecision(o.d, 'r', 0).allowed) allowed++;
        } catch (e) {
          if (!(e instanceof PolicyError)) throw e;
        }
      }
      expect(allowed).toBeGreaterThanOrEqual(10);
      expect(N - allowed).toBeGreaterThanOrEqual(10);
    });
  }
});
