/**
 * `npm run bench:policy`: OPA Wasm policy evaluation cost, and what the policy step adds to a Check.
 *
 * 1. Per example policy (policy/), on a ~1 KB input document: µs per decision for the Wasm evaluation alone and for
 *    the whole policy step (input document from the decoded CheckRequest + Wasm + decision mapping). Peer in the
 *    same run: the real OPA v1.22.3 Go evaluator on the same Rego, data and input (`opa bench`: eval median and ns/op).
 * 2. In-process Check pipeline (real tokens, cached chain, in-memory ledger sink): CPU µs per Check with the
 *    built-in policy (off) and with an OPA Wasm bundle (on).
 * 3. The policy step with `isolation: inline` vs `isolation: worker` (docs/policy.md §7).
 * Prints figures only; BENCHMARKS.md "## Policy" is written from them. Flags: --iterations N (default 20000).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Registry } from 'prom-client';
import { loadConfig } from '../src/config/index.js';
import { frozenClock } from '../src/lib/clock.js';
import {
  buildPolicyInput,
  evaluatePolicy,
  loadBundle,
  type PolicyContext,
  PolicyEngine,
} from '../src/policy/index.js';
import { checkFromConfig, createPolicyDecider } from '../src/serve/index.js';
import { checkRequest, toolsCall } from '../test/support/check-request.js';
import { agentId, testIdentity } from '../test/support/identity.js';
import { memorySink } from '../test/support/memory-sink.js';

const ROOT = resolve(import.meta.dirname, '..');
const OPA = join(ROOT, '.tools/bin/opa');
const args = process.argv.slice(2);
const ITER = (() => {
  const i = args.indexOf('--iterations');
  return i >= 0 ? Number(args[i + 1]) : 20_000;
})();
const tmp = mkdtempSync(join(tmpdir(), 'sigil-bench-policy-'));

function build(dir: string, entrypoint: string): Buffer {
  const out = join(tmp, 'b.tar.gz');
  execFileSync(OPA, ['build', '-t', 'wasm', '-e', entrypoint, '-o', out, dir]);
  return execFileSync('cat', [out]);
}

function stats(samplesNs: number[]): { p50: number; mean: number; p99: number } {
  const s = [...samplesNs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]! / 1000;
  return { p50: q(0.5), mean: s.reduce((a, b) => a + b, 0) / s.length / 1000, p99: q(0.99) };
}

function time(fn: () => void, n: number): number[] {
  for (let i = 0; i < Math.min(2000, n); i++) fn(); // warm-up (JIT + Wasm tier-up)
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    fn();
    out[i] = Number(process.hrtime.bigint() - t);
  }
  return out;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A realistic ~1 KB request: Basic auth, an API key, a tenant, a verified 2-hop chain. */
function benchContext(): PolicyContext {
  const req = checkRequest({
    method: 'GET',
    path: '/api/items/42?limit=5',
    host: 'tools.svc.local',
    headers: {
      authorization: `Basic ${b64('alice:pw')}`,
      'x-api-key': 'k-alpha-123',
      'x-tenant': 'acme',
    },
  });
  const hop = (sub: string, iss: string, jti: string, scope: string[]) => ({
    sub,
    iss,
    jti,
    tool_scope: scope,
    exp: 1767225900,
  });
  return {
    checkRequest: req,
    sigil: {
      valid: true,
      code: 'OK',
      sub: 'spiffe://sigil.mesh/agent/coder/7',
      iss: 'spiffe://sigil.mesh/sigil/issuer',
      task_id: 'task-42',
      tool: 'fs.read',
      tools: ['fs.read'],
      tool_scope: ['fs.read', 'fs.write'],
      depth: 2,
      exp: 1767225900,
      hops: [
        hop('spiffe://sigil.mesh/agent/planner/1', 'spiffe://sigil.mesh/sigil/issuer', 'jti-root-0001', [
          'fs.*',
          'search',
        ]),
        hop('spiffe://sigil.mesh/agent/coder/7', 'spiffe://sigil.mesh/agent/planner/1', 'jti-leaf-0002', [
          'fs.read',
          'fs.write',
        ]),
      ],
      public_route: false,
    },
  };
}

const POLICIES: [string, string, string][] = [
  ['default', 'policy/default', 'envoy/authz/allow'],
  ['rbac', 'policy/examples/rbac', 'envoy/authz/allow'],
  ['headers', 'policy/examples/headers', 'envoy/authz/result'],
  ['sigil-claims', 'policy/examples/sigil-claims', 'envoy/authz/allow'],
  ['data-lookup', 'policy/examples/data-lookup', 'envoy/authz/allow'],
];

const cpu = cpus()[0]?.model ?? 'unknown';
console.log(
  `machine: nproc=${cpus().length} cpu="${cpu}" node=${process.version} opa=v1.22.3 iterations=${ITER} loadavg(1m)=${loadavg()[0]!.toFixed(1)}`,
);

const ctx = benchContext();
const input = buildPolicyInput(ctx);
const inputJson = JSON.stringify(input);
const inputFile = join(tmp, 'input.json');
writeFileSync(inputFile, inputJson);
console.log(`input document: ${inputJson.length} bytes`);
console.log('');
console.log(
  'policy        | decision | SIGIL Wasm eval µs p50 / mean / p99 | SIGIL policy step µs p50 / mean | OPA Go eval µs p50 / mean (opa bench) | SIGIL/OPA p50, mean',
);

for (const [name, dir, entrypoint] of POLICIES) {
  const bundle = await loadBundle(build(join(ROOT, dir), entrypoint), { entrypoint });
  const decision = JSON.stringify(
    (bundle.evaluate(input, 0n) as { result: unknown }[])[0]?.result ?? 'undefined',
  );
  const evalOnly = stats(time(() => bundle.evaluate(input, 0n), ITER));
  const step = stats(time(() => evaluatePolicy(bundle, ctx, { timeoutMs: 10_000 }), ITER));
  const ref = `data.${entrypoint.split('/').join('.')}`;
  const bench = JSON.parse(
    execFileSync(OPA, [
      'bench',
      '--format',
      'json',
      '-d',
      join(ROOT, dir),
      '-i',
      inputFile,
      ref,
      '--fail=false',
      '--benchmem=false',
    ]).toString(),
  ) as { N: number; T: number; Extra?: Record<string, number> };
  const goUs = bench.T / bench.N / 1000;
  const goP50 = (bench.Extra?.histogram_timer_rego_query_eval_ns_median ?? Number.NaN) / 1000;
  console.log(
    `${name.padEnd(13)} | ${(decision.length > 8 ? `${decision.slice(0, 7)}…` : decision).padEnd(8)} | ${evalOnly.p50.toFixed(1)} / ${evalOnly.mean.toFixed(1)} / ${evalOnly.p99.toFixed(1)}`.padEnd(
      60,
    ) +
      ` | ${step.p50.toFixed(1)} / ${step.mean.toFixed(1)}`.padEnd(34) +
      ` | ${goP50.toFixed(1)} / ${goUs.toFixed(1)}`.padEnd(40) +
      ` | ${(evalOnly.p50 / goP50).toFixed(2)}x, ${(evalOnly.mean / goUs).toFixed(2)}x`,
  );
}

// The same decision with isolation: worker (evaluation on a worker thread, Atomics.wait handoff) vs inline.
{
  const file = join(tmp, 'iso.tar.gz');
  writeFileSync(file, build(join(ROOT, 'policy/examples/sigil-claims'), 'envoy/authz/allow'));
  const rows: string[] = [];
  for (const isolation of ['inline', 'worker'] as const) {
    const engine = await PolicyEngine.start({
      source: file,
      registry: new Registry(),
      evalTimeoutMs: 1000,
      isolation,
      pollIntervalMs: 3_600_000,
    });
    const s = stats(time(() => engine.decide(ctx), Math.floor(ITER / 2)));
    rows.push(`  ${isolation.padEnd(6)}: ${s.p50.toFixed(1)} / ${s.mean.toFixed(1)} / ${s.p99.toFixed(1)}`);
    await engine.close();
  }
  console.log('');
  console.log('sigil-claims policy step by isolation mode, µs p50 / mean / p99:');
  for (const r of rows) console.log(r);
}

// Check CPU with the policy off (built-in) vs on (OPA Wasm sigil-claims bundle), in-process.
async function checkCpu(withPolicy: boolean): Promise<number> {
  const T0 = 1_767_225_600_000;
  const clock = frozenClock(T0);
  const id = testIdentity(clock);
  const bundleFile = join(tmp, 'claims.tar.gz');
  writeFileSync(bundleFile, build(join(ROOT, 'policy/examples/sigil-claims'), 'envoy/authz/allow'));
  const config = loadConfig({
    env: {},
    overrides: {
      agent: { spiffe_id: agentId('local') },
      ...(withPolicy ? { policy: { bundle: bundleFile, eval_timeout_ms: 1000 } } : {}),
    },
  });
  const policy = withPolicy
    ? await createPolicyDecider(config, { registry: new Registry(), clock })
    : undefined;
  const { check } = checkFromConfig(config, {
    trust: id.trust,
    ledger: memorySink(),
    clock,
    ...(policy ? { policy } : {}),
  });
  const { token } = id.mint({ scope: ['fs.*'], task: 'task-42' });
  const req = checkRequest(
    { body: JSON.stringify(toolsCall('fs.read')), headers: { 'content-type': 'application/json' } },
    token,
  );
  for (let i = 0; i < 2000; i++) await check(req);
  const n = Math.max(2000, Math.floor(ITER / 2));
  const c0 = process.cpuUsage();
  let allowed = 0;
  for (let i = 0; i < n; i++) if ((await check(req)).httpResponse.case === 'okResponse') allowed++;
  const c = process.cpuUsage(c0);
  await policy?.close?.();
  if (allowed !== n) throw new Error(`expected every Check to allow, got ${allowed}/${n}`);
  return (c.user + c.system) / n;
}

console.log('');
const off = await checkCpu(false);
const on = await checkCpu(true);
console.log(
  'Check pipeline in-process (cached chain, MCP tools/call, in-memory ledger sink), CPU µs per Check:',
);
console.log(`  policy off (built-in TBIT rules only): ${off.toFixed(1)}`);
console.log(
  `  policy on  (OPA Wasm, sigil-claims):   ${on.toFixed(1)}  (+${(on - off).toFixed(1)} µs, ${(on / off).toFixed(2)}x)`,
);
rmSync(tmp, { recursive: true, force: true });
