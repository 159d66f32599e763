/**
 * Evaluation failures fail closed with stable codes, the time budget and memory cap are enforced, time.now_ns()
 * follows the injectable clock, and SIGIL's host builtins give the same answers as OPA's own implementations.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { frozenClock } from '../../src/lib/clock.js';
import { evaluateInput, loadBundle } from '../../src/policy/index.js';
import { OPA, opaBuildSources, tempDir } from './support.js';

const SLOW =
  'package envoy.authz\n\ndefault allow := false\n\nallow if {\n  count([x | some x in numbers.range(1, input.n); x % 7 == 0]) > 0\n}\n';

describe('failures deny with a stable code', () => {
  it('a runtime error (conflicting complete rule) → POLICY_EVAL_ERROR, then the instance still works', async () => {
    const b = await loadBundle(
      opaBuildSources({ 'p.rego': 'package envoy.authz\n\nallow := input.a\n\nallow := input.b\n' }),
    );
    const v = evaluateInput(b, { a: true, b: false }, { timeoutMs: 10_000 });
    expect(v).toMatchObject({
      allowed: false,
      code: 'POLICY_EVAL_ERROR',
      httpStatus: 403,
      revision: b.revision,
    });
    expect(v.message).toMatch(/conflict/);
    expect(evaluateInput(b, { a: true, b: true }, { timeoutMs: 10_000 }).code).toBe('OK');
  });

  it('an undefined decision (no default rule) → POLICY_RESULT_INVALID', async () => {
    const b = await loadBundle(opaBuildSources({ 'p.rego': 'package envoy.authz\n\nallow if input.ok\n' }));
    expect(evaluateInput(b, { ok: false }, { timeoutMs: 10_000 })).toMatchObject({
      allowed: false,
      code: 'POLICY_RESULT_INVALID',
    });
    expect(evaluateInput(b, { ok: true }, { timeoutMs: 10_000 })).toMatchObject({
      allowed: true,
      code: 'OK',
    });
  });

  it('a non-boolean decision → POLICY_RESULT_INVALID', async () => {
    const b = await loadBundle(opaBuildSources({ 'p.rego': 'package envoy.authz\n\nallow := "yes"\n' }));
    expect(evaluateInput(b, {}, { timeoutMs: 10_000 }).code).toBe('POLICY_RESULT_INVALID');
  });

  it('a policy over its memory cap traps → POLICY_EVAL_ERROR; small inputs still evaluate', async () => {
    const b = await loadBundle(opaBuildSources({ 'p.rego': SLOW }), { maxMemoryPages: 20 });
    const v = evaluateInput(b, { n: 300_000 }, { timeoutMs: 60_000 });
    expect(v).toMatchObject({ allowed: false, code: 'POLICY_EVAL_ERROR' });
    expect(evaluateInput(b, { n: 10 }, { timeoutMs: 60_000 })).toMatchObject({ allowed: true, code: 'OK' });
  });
});

describe('time budget (eval_timeout_ms)', () => {
  it('a real slow evaluation over the budget denies with POLICY_TIMEOUT even though the policy allowed', async () => {
    const b = await loadBundle(opaBuildSources({ 'p.rego': SLOW }));
    const slow = evaluateInput(b, { n: 50_000 }, { timeoutMs: 1 });
    expect(slow).toMatchObject({ allowed: false, code: 'POLICY_TIMEOUT', revision: b.revision });
    expect(slow.evalUs).toBeGreaterThan(1000);
    // Control: same input with a generous budget is allowed.
    expect(evaluateInput(b, { n: 50_000 }, { timeoutMs: 60_000 })).toMatchObject({
      allowed: true,
      code: 'OK',
    });
  });
});

describe('time.now_ns() reads the injectable clock', () => {
  it('returns the frozen clock in exact nanoseconds', async () => {
    // Differences keep the numbers small enough for JSON in JS; the equality runs inside Wasm on the full value.
    const b = await loadBundle(
      opaBuildSources({
        'p.rego':
          'package envoy.authz\n\nallow := {"allowed": time.now_ns() == 1767225600123000000, "dynamic_metadata": {"d": time.now_ns() - 1767225600000000000}}\n',
      }),
    );
    const clock = frozenClock(1_767_225_600_123);
    expect(evaluateInput(b, {}, { clock, timeoutMs: 10_000 })).toMatchObject({
      allowed: true,
      dynamicMetadata: { d: 123_000_000 },
    });
    clock.advance(1);
    expect(evaluateInput(b, {}, { clock, timeoutMs: 10_000 })).toMatchObject({
      allowed: false,
      dynamicMetadata: { d: 124_000_000 },
    });
  });
});

describe('host builtins agree with OPA (opa eval is the oracle)', () => {
  const tmp = tempDir('sigil-builtins-');
  afterAll(() => tmp.cleanup());
  const rego = `package envoy.authz

allow := {
  "qe": urlquery.encode(input.s),
  "qd": urlquery.decode(input.s),
  "qo": urlquery.decode_object(input.s),
  "sha256": crypto.sha256(input.s),
  "sha1": crypto.sha1(input.s),
  "md5": crypto.md5(input.s),
  "hmac": crypto.hmac.sha256(input.s, "key"),
  "hexe": hex.encode(input.s),
  "hexd": hex.decode(input.s),
  "b64u": base64url.encode_no_pad(input.s),
  "t": time.parse_rfc3339_ns(input.s),
  "jwt": io.jwt.decode(input.s),
  "pre": strings.any_prefix_match(input.s, ["a", "/api"]),
  "suf": strings.any_suffix_match([input.s, "zz"], "z"),
}
`;
  const vectors = [
    'a b&c=d/é?',
    "!'()*~-._",
    'a+b%20c%41',
    '%zz',
    'a=%FF%41&b=%E2%9C',
    'π=ω+1',
    'x=1&y=2&x=3',
    'a=1;b=2',
    '4869',
    '48a',
    '2026-01-01T00:00:00Z',
    '2026-01-01T00:00:00.123456789+02:00',
    '2026-02-30T00:00:00Z',
    '2026-01-01 00:00:00Z',
    `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"u","n":[1,2]}').toString('base64url')}.${Buffer.from('sig').toString('base64url')}`,
    'a.b',
    '',
    '/api/x',
    'buzz',
  ];

  it('on every vector, each builtin result (or undefined) matches', async () => {
    // Each builtin under its own rule, collected only when defined, so one undefined result does not hide others.
    const names = [
      'qe',
      'qd',
      'qo',
      'sha256',
      'sha1',
      'md5',
      'hmac',
      'hexe',
      'hexd',
      'b64u',
      't',
      'jwt',
      'pre',
      'suf',
    ];
    const expr = (n: string) => rego.match(new RegExp(`"${n}": ([^\\n]+),`))![1];
    const program = `package envoy.authz\n\n${names.map((n) => `${n} := ${expr(n)}`).join('\n')}\n\nallow := {k: v | some k in ${JSON.stringify(names)}; v := values[k]}\n\nvalues := {${names.map((n) => `"${n}": [x | x := ${n}]`).join(', ')}}\n`;
    const files = { 'p.rego': program };
    const dir = join(tmp.dir, 'src');
    const b = await loadBundle(opaBuildSources(files));
    execFileSync('mkdir', ['-p', dir]);
    writeFileSync(join(dir, 'p.rego'), program);
    for (const s of vectors) {
      const ours = (b.evaluate({ s }, 0n) as { result: unknown }[])[0]?.result;
      writeFileSync(join(tmp.dir, 'in.json'), JSON.stringify({ s }));
      const out = JSON.parse(
        execFileSync(OPA, [
          'eval',
          '--format',
          'json',
          '-d',
          dir,
          '--input',
          join(tmp.dir, 'in.json'),
          'data.envoy.authz.allow',
        ]).toString(),
      ) as { result?: { expressions: { value: unknown }[] }[] };
      const theirs = out.result?.[0]?.expressions[0]?.value;
      expect(ours, `vector ${JSON.stringify(s)}`).toEqual(theirs);
    }
  });
});
