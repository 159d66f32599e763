/**
 * Rego print(): a bundle built with `opa build --wasm-include-print` (what `sigil policy build` does) writes each
 * line to SIGIL's log with the decision id, inline and on the worker thread.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { withoutPaths } from '../../src/policy/evaluate.js';
import { evaluateInput, loadBundle, PolicyEngine, type PolicyLogger } from '../../src/policy/index.js';
import { printLines } from '../../src/policy/lib/print.js';
import { context, OPA, tempDir } from './support.js';

const tmp = tempDir('sigil-print-');
afterAll(() => tmp.cleanup());

const REGO = `package envoy.authz
import rego.v1
default allow := false
allow if {
  input.parsed_path[0] == "ok"
  print("path", input.parsed_path, "missing:", input.nope)
}
`;

function build(withPrint: boolean): string {
  const dir = join(tmp.dir, withPrint ? 'with' : 'without');
  execFileSync('mkdir', ['-p', dir]);
  writeFileSync(join(dir, 'p.rego'), REGO);
  const out = join(dir, 'bundle.tar.gz');
  const flags = withPrint ? ['--wasm-include-print'] : [];
  execFileSync(OPA, ['build', '-t', 'wasm', ...flags, '-e', 'envoy/authz/allow', '-o', out, dir]);
  return out;
}

function capture(): { logger: PolicyLogger; prints: object[] } {
  const prints: object[] = [];
  const keep = (o: object, msg?: string) => {
    if (msg === 'policy print') prints.push(o);
  };
  return { logger: { info: keep, warn: keep, error: keep }, prints };
}

describe('print() goes to the log with the decision id', () => {
  for (const isolation of ['inline', 'worker'] as const) {
    it(`${isolation}: one log record per printed line, in order`, async () => {
      const { logger, prints } = capture();
      const engine = await PolicyEngine.start({
        source: build(true),
        registry: new Registry(),
        watchFiles: false,
        pollIntervalMs: 60_000,
        evalTimeoutMs: 10_000,
        isolation,
        logger,
      });
      try {
        expect(engine.decide(context({ path: '/ok/x' }), undefined, 'dec-1').allowed).toBe(true);
        expect(engine.decide(context({ path: '/no' }), undefined, 'dec-2').allowed).toBe(false);
      } finally {
        await engine.close();
      }
      expect(prints).toEqual([
        expect.objectContaining({ decision_id: 'dec-1', print: 'path ["ok", "x"] missing: <undefined>' }),
      ]);
    });
  }
  it('a bundle built without --wasm-include-print prints nothing', async () => {
    const { logger, prints } = capture();
    const engine = await PolicyEngine.start({
      source: build(false),
      registry: new Registry(),
      watchFiles: false,
      pollIntervalMs: 60_000,
      evalTimeoutMs: 10_000,
      logger,
    });
    expect(engine.decide(context({ path: '/ok' }), undefined, 'd').allowed).toBe(true);
    await engine.close();
    expect(prints).toEqual([]);
  });
  it('formats like OPA: strings bare, values as Rego, one line per combination of set members', () => {
    expect(printLines([['a'], [1], [{ k: [true, null] }]])).toEqual(['a 1 {"k": [true, null]}']);
    expect(printLines([['x'], [1, 2]])).toEqual(['x 1', 'x 2']);
    expect(printLines([[]])).toEqual(['<undefined>']);
  });
});

describe('no build-machine paths in evaluation errors', () => {
  it('a Wasm abort from a bundle built from an absolute path names only the file', async () => {
    const dir = join(tmp.dir, 'abs', 'deep');
    execFileSync('mkdir', ['-p', dir]);
    writeFileSync(
      join(dir, 'conflict.rego'),
      'package envoy.authz\nimport rego.v1\nx := input.a\nx := input.b\nallow if x\n',
    );
    const out = join(tmp.dir, 'abs.tar.gz');
    execFileSync(OPA, ['build', '-t', 'wasm', '-e', 'envoy/authz/allow', '-o', out, dir]);
    const bundle = await loadBundle(readFileSync(out));
    const v = evaluateInput(bundle, { a: 1, b: 2 }, { timeoutMs: 10_000 });
    expect(v.code).toBe('POLICY_EVAL_ERROR');
    expect(v.message).toMatch(/conflict\.rego/);
    expect(v.message).not.toContain(tmp.dir);
    expect(withoutPaths('error at /home/ci/src/x.rego:3:1 and C:\\w\\y.rego')).toBe(
      'error at x.rego:3:1 and y.rego',
    );
  });
});
