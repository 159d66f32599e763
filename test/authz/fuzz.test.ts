/**
 * The authz fuzzer's short fixed-seed run (the 10-minute run is test/slow/authz-fuzz.test.ts): the seed corpus
 * under the OPA Wasm target, then mutants through the real Check with the built-in policy and with an
 * OPA-compiled bundle (1,000 mutants, a few seconds on an idle box), judged against the lenient-upstream model (test/support/fuzz/harness.ts).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEEDS } from '../support/fuzz/corpus.js';
import { fuzz, judge, makeTargets, run, type Target } from '../support/fuzz/harness.js';
import { upstreamCalls } from '../support/fuzz/lenient-upstream.js';

let env: Awaited<ReturnType<typeof makeTargets>>;
let opa: Target;
beforeAll(async () => {
  env = await makeTargets(true);
  opa = env.targets.find((t) => t.name === 'opa')!;
});
afterAll(() => env.close());

describe('seed corpus through the OPA Wasm policy', () => {
  it.each(SEEDS.map((s) => [s.name, s] as const))('%s', async (_name, s) => {
    const v = await run(opa, s.input, env.token);
    expect(v.allow ? { allow: v.tools } : { deny: v.code }).toEqual(s.expect);
    expect(judge(s.input, v)).toBeUndefined();
  });
});

describe('the oracle', () => {
  it('reads what lenient upstreams run: Node, Python, Go, encodings, truncation', () => {
    const call = (n: string) => `{"method":"tools/call","params":{"name":"${n}"}}`;
    const bytes = (s: string) => new TextEncoder().encode(s);
    expect(upstreamCalls({}, bytes(call('a'))).tools).toEqual(['a']);
    expect(upstreamCalls({}, bytes(`[${call('a')},${call('b')}]`)).tools).toEqual(['a', 'b']);
    expect(upstreamCalls({}, bytes('{"method":"tools/call","params":{"name":"a","x":NaN}}')).tools).toEqual([
      'a',
    ]);
    expect(upstreamCalls({}, bytes('{"METHOD":"tools/call","params":{"Name":"a"}}')).tools).toEqual(['a']);
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(call('a'), 'utf16le')]);
    expect(upstreamCalls({}, le).tools).toEqual(['a']);
    expect(upstreamCalls({ 'x-envoy-auth-partial-body': 'true' }, bytes('   ')).unknown).toBe(true);
    expect(upstreamCalls({ 'content-encoding': 'gzip' }, bytes(call('a'))).tools).toEqual([]);
  });

  it('flags a wrong allow', () => {
    const input = { method: 'POST', path: '/mcp', headers: {}, token: 'scoped' as const };
    const body = new TextEncoder().encode('{"method":"tools/call","params":{"name":"delete"}}');
    const allow = { allow: true, code: 'OK', status: 200, tools: ['search'], ms: 1, receiptKept: true };
    expect(judge({ ...input, body }, allow)).toMatch(/^wrong-allow: upstream runs "delete"/);
    expect(judge({ ...input, token: 'none' }, allow)).toMatch(/^wrong-allow/);
    expect(judge(input, { ...allow, receiptKept: false })).toMatch(/^receipt/);
    expect(judge(input, { ...allow, allow: false, code: 'AUTHZ_INTERNAL', status: 500 })).toMatch(
      /^internal/,
    );
    expect(judge(input, { ...allow, allow: false, code: 'AUTHZ_NO_TOOL', status: 400 })).toMatch(/^status/);
  });
});

describe('fixed-seed fuzz run', () => {
  it('1,000 mutants on both policies (2,000 Checks): no wrong allow, no crash, stable codes', async () => {
    const stats = await fuzz({
      seeds: SEEDS.map((s) => s.input),
      targets: env.targets,
      token: env.token,
      seed: 18,
      iterations: 1000,
      maxMs: 2000,
      outDir: join(tmpdir(), 'sigil-fuzz-failures'),
    });
    console.log(`fixed-seed fuzz run: ${JSON.stringify(stats)}`);
    expect(stats.iterations).toBe(1000);
    expect(stats.allows).toBeGreaterThan(0);
    expect(Object.keys(stats.denyCodes).length).toBeGreaterThan(10);
    expect(stats.corpus).toBeGreaterThan(SEEDS.length);
  }, 120_000);
});
