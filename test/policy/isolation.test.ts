/**
 * `isolation: worker`: the budget is preempted (the worker is terminated at the deadline, long before the policy
 * would finish), decisions equal inline ones, and the engine recovers with a fresh worker.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { buildPolicyInput, evaluateInput, loadBundle, PolicyEngine } from '../../src/policy/index.js';
import { context, opaBuild, opaBuildSources, POLICY_DIR, startSlowWorkerEngine, tempDir } from './support.js';

const tmp = tempDir('sigil-isolation-');
afterAll(() => tmp.cleanup());
const engines: PolicyEngine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
});

async function until(cond: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('worker isolation', () => {
  it('terminates an overrunning evaluation at the budget, denies POLICY_TIMEOUT, then recovers', async () => {
    const engine = await startSlowWorkerEngine(tmp.dir);
    engines.push(engine);
    expect(engine.decide(context())).toMatchObject({ allowed: true, code: 'OK' });

    // Inline, this input takes seconds (see eval.test.ts); the worker is terminated at the budget (how long the
    // main thread waits is asserted in test/slow/policy-dos.test.ts: no wall-clock bounds in the default suite).
    const v = engine.decide(context({ headers: { 'x-slow': '30000' } }));
    expect(v, JSON.stringify(v)).toMatchObject({ allowed: false, code: 'POLICY_TIMEOUT' });

    // While the replacement worker starts, decisions fail closed; once it is up they are normal again.
    await until(() => engine.decide(context()).code === 'OK');
    expect(engine.decide(context({ headers: { 'x-slow': '50' } }))).toMatchObject({
      allowed: true,
      code: 'OK',
    });
  });

  it('decisions and mapped verdicts equal the inline ones', async () => {
    const bytes = opaBuild(join(POLICY_DIR, 'examples/headers'), ['envoy/authz/result']);
    const file = join(tmp.dir, 'headers.tar.gz');
    writeFileSync(file, bytes);
    const engine = await PolicyEngine.start({
      source: file,
      entrypoint: 'envoy/authz/result',
      registry: new Registry(),
      evalTimeoutMs: 5000,
      isolation: 'worker',
      pollIntervalMs: 60_000,
    });
    engines.push(engine);
    const inline = await loadBundle(bytes, { entrypoint: 'envoy/authz/result' });
    const cases = [
      context({ headers: { 'x-api-key': 'k-alpha-123', 'x-tenant': 'acme' } }),
      context({ headers: { 'x-tenant': 'acme' } }),
      context({ headers: { 'x-api-key': 'k-beta-456', 'x-tenant': 'acme', 'user-agent': 'BadBot' } }),
    ];
    for (const c of cases) {
      const w = engine.decide(c);
      const i = evaluateInput(inline, buildPolicyInput(c), { timeoutMs: 5000 });
      expect({ ...w, evalUs: 0 }).toEqual({ ...i, evalUs: 0 });
    }
  });

  it('a runtime error in the worker is POLICY_EVAL_ERROR and the worker keeps serving', async () => {
    const file = join(tmp.dir, 'conflict.tar.gz');
    writeFileSync(
      file,
      opaBuildSources({
        'p.rego':
          'package envoy.authz\n\nallow := input.sigil.valid\n\nallow := input.attributes.request.http.method == "GET"\n',
      }),
    );
    const engine = await PolicyEngine.start({
      source: file,
      registry: new Registry(),
      evalTimeoutMs: 5000,
      isolation: 'worker',
      pollIntervalMs: 60_000,
    });
    engines.push(engine);
    const bad = engine.decide(context({ method: 'POST' }));
    expect(bad).toMatchObject({ allowed: false, code: 'POLICY_EVAL_ERROR' });
    expect(bad.message).toMatch(/conflict/);
    expect(engine.decide(context({ method: 'GET' }))).toMatchObject({ allowed: true, code: 'OK' });
  });
});
