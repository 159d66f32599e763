/**
 * Policy DoS inputs (slow; `npm run test:slow`): hostile request bodies and bundles at realistic attack sizes must
 * end in a deny or a load error with a stable code, never a crash, and leave the bundle usable.
 */
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluatePolicy, loadBundle, type PolicyBundle } from '../../src/policy/index.js';
import {
  context,
  makeTarGz,
  opaBuild,
  POLICY_DIR,
  startSlowWorkerEngine,
  tempDir,
} from '../policy/support.js';

let bundle: PolicyBundle;
beforeAll(async () => {
  bundle = await loadBundle(opaBuild(join(POLICY_DIR, 'default')));
});

const json = { 'content-type': 'application/json' };

describe('hostile request bodies', () => {
  it('1 MB of nested arrays → deny with a POLICY_* code; the next request is still decided', () => {
    const body = `${'['.repeat(500_000)}${']'.repeat(500_000)}`;
    const v = evaluatePolicy(bundle, context({ method: 'POST', headers: json, body }), { timeoutMs: 60_000 });
    // Either the input step or the Wasm JSON parser refuses it, or it evaluates; a crash fails the test.
    expect(v.code).toMatch(/^(OK|POLICY_[A-Z_]+)$/);
    expect(evaluatePolicy(bundle, context(), { timeoutMs: 60_000 })).toMatchObject({
      allowed: true,
      code: 'OK',
    });
  });

  it('8 MB JSON body of many keys → decided within the memory cap or denied POLICY_EVAL_ERROR', () => {
    const body = JSON.stringify(Object.fromEntries(Array.from({ length: 300_000 }, (_, i) => [`k${i}`, i])));
    const v = evaluatePolicy(bundle, context({ method: 'POST', headers: json, body }), { timeoutMs: 60_000 });
    expect(['OK', 'POLICY_EVAL_ERROR']).toContain(v.code);
    expect(evaluatePolicy(bundle, context(), { timeoutMs: 60_000 }).code).toBe('OK');
  });
});

describe('hostile bundles at full size', () => {
  it('a 1 GB gzip bomb is refused after inflating at most the cap', async () => {
    const bomb = gzipSync(Buffer.alloc(1 << 30));
    const t = Date.now();
    await expect(loadBundle(bomb)).rejects.toMatchObject({ code: 'POLICY_BUNDLE_INVALID' });
    expect(Date.now() - t).toBeLessThan(30_000);
  });

  it('100 000 tiny entries are refused by the entry cap', async () => {
    const entries = Array.from({ length: 100_000 }, (_, i) => ({ name: `/d/${i}.rego`, data: '' }));
    await expect(loadBundle(makeTarGz(entries))).rejects.toMatchObject({ code: 'POLICY_BUNDLE_INVALID' });
  });
});

describe('worker isolation under a slow policy', () => {
  it('the main thread waits about the budget, not the seconds the policy would run', async () => {
    const tmp = tempDir('sigil-isolation-slow-');
    const engine = await startSlowWorkerEngine(tmp.dir);
    try {
      expect(engine.decide(context())).toMatchObject({ allowed: true, code: 'OK' });
      const t = Date.now();
      const v = engine.decide(context({ headers: { 'x-slow': '30000' } }));
      const waited = Date.now() - t;
      expect(v).toMatchObject({ allowed: false, code: 'POLICY_TIMEOUT' });
      expect(waited).toBeLessThan(2000);
    } finally {
      await engine.close();
      tmp.cleanup();
    }
  });
});
