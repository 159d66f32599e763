/** `sigil policy build|eval` as a real child process (tsx), against the real OPA CLI. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluatePolicy, loadBundle } from '../../src/policy/index.js';
import { readTar } from '../../src/policy/lib/tar.js';
import { type CliRun, runCli } from '../support/sigil-cli.js';
import { MALFORMED_BUNDLES } from './malformed-bundles.js';
import { context, POLICY_DIR, sigil, tempDir } from './support.js';

const tmp = tempDir('sigil-policy-cli-');
afterAll(() => tmp.cleanup());

const run = (args: string[], stdin?: string): Promise<CliRun> =>
  runCli(args, { env: { SIGIL_DATA: tmp.dir }, stdin: stdin ?? '' });

const basic = (u: string) => `Basic ${Buffer.from(`${u}:pw`).toString('base64')}`;
const rbacBundle = join(tmp.dir, 'rbac.tar.gz');

describe('sigil policy build', () => {
  beforeAll(async () => {
    const r = await run([
      'policy',
      'build',
      join(POLICY_DIR, 'examples/rbac'),
      '-o',
      rbacBundle,
      '--revision',
      'rbac-7',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      bundle: rbacBundle,
      revision: 'rbac-7',
      entrypoints: ['envoy/authz/allow'],
      // The example's base64.decode is compiled into the Wasm and routed to SIGIL's (lib/wasm-natives.ts).
      builtins: ['base64.decode'],
    });
  });

  it('writes a bundle SIGIL loads, with the requested revision', async () => {
    const b = await loadBundle(readFileSync(rbacBundle));
    expect(b.revision).toBe('rbac-7');
  });

  it('a Rego syntax error → POLICY_BUILD_FAILED with opa’s message, exit 1', async () => {
    const dir = join(tmp.dir, 'broken');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'p.rego'), 'package envoy.authz\n\nallow if {\n');
    const r = await run(['policy', 'build', dir, '-o', join(tmp.dir, 'x.tar.gz')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^POLICY_BUILD_FAILED: opa build failed/);
    expect(r.stderr).toMatch(/ p\.rego:\d+: rego_parse_error/);
    // Built from inside the directory: no absolute path of this machine in the message.
    expect(r.stderr).not.toContain(tmp.dir);
  });

  it('--v0-compatible builds a policy in Rego v0 syntax, which fails without it', async () => {
    const dir = join(tmp.dir, 'v0');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'p.rego'),
      'package envoy.authz\n\ndefault allow = false\nallow { input.sigil.valid }\n',
    );
    const out = join(tmp.dir, 'v0.tar.gz');
    expect((await run(['policy', 'build', dir, '-o', out])).code).toBe(1);
    const r = await run(['policy', 'build', dir, '-o', out, '--v0-compatible']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const b = await loadBundle(readFileSync(out));
    expect(b.evaluate({ sigil: { valid: true } }, 0n)).toEqual([{ result: true }]);
  });

  it('passes arguments after -- to opa build, but not ones that would change the target or output', async () => {
    const dir = join(POLICY_DIR, 'examples/rbac');
    const out = join(tmp.dir, 'pass.tar.gz');
    const r = await run([
      'policy',
      'build',
      dir,
      '-o',
      out,
      '--',
      '--capabilities',
      join(tmp.dir, 'none.json'),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^POLICY_BUILD_FAILED: opa build failed:.*none\.json/s);
    const owned = await run(['policy', 'build', dir, '--', '-t', 'plan']);
    expect(owned.code).toBe(1);
    expect(owned.stderr).toMatch(/^POLICY_BUILD_FAILED: -t is set by sigil policy build itself/);
  });

  it('compiles print() in (logged at evaluation); --no-print leaves it out', async () => {
    const dir = join(tmp.dir, 'printing');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'p.rego'), 'package envoy.authz\n\nallow if print("hi")\n');
    const out = join(tmp.dir, 'print.tar.gz');
    expect((await run(['policy', 'build', dir, '-o', out])).code).toBe(0);
    const prints: string[] = [];
    (await loadBundle(readFileSync(out))).evaluate({}, 0n, prints);
    expect(prints).toEqual(['hi']);
    expect((await run(['policy', 'build', dir, '-o', out, '--no-print'])).code).toBe(0);
    (await loadBundle(readFileSync(out))).evaluate({}, 0n, prints);
    expect(prints).toEqual(['hi']);
  });

  it('a policy needing an unprovided builtin fails at build time with POLICY_BUILTIN_MISSING', async () => {
    const dir = join(tmp.dir, 'needs-uuid');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'p.rego'),
      'package envoy.authz\n\nallow if count(net.lookup_ip_addr(input.x)) > 0\n',
    );
    const r = await run(['policy', 'build', dir, '-o', join(tmp.dir, 'u.tar.gz')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^POLICY_BUILTIN_MISSING: .*net\.lookup_ip_addr/);
  });
});

describe('sigil policy eval', () => {
  it('prints the same verdict as the in-process policy step (same code path)', async () => {
    const ctx = context({
      method: 'DELETE',
      path: '/api/items/3',
      headers: { authorization: basic('alice') },
    });
    const input = join(tmp.dir, 'alice.json');
    writeFileSync(input, JSON.stringify(ctx));
    const r = await run([
      'policy',
      'eval',
      '--bundle',
      rbacBundle,
      '--input',
      input,
      '--now',
      '1767225600000',
    ]);
    expect(r.code).toBe(0);
    const cli = JSON.parse(r.stdout) as Record<string, unknown>;
    const local = evaluatePolicy(await loadBundle(readFileSync(rbacBundle)), ctx, { timeoutMs: 10_000 });
    expect({ ...cli, evalUs: 0 }).toEqual({ ...JSON.parse(JSON.stringify(local)), evalUs: 0 });
    expect(cli).toMatchObject({ allowed: true, code: 'OK', revision: 'rbac-7' });
  });

  it('a reader may not delete: POLICY_DENIED / 403', async () => {
    const r = await run(
      ['policy', 'eval', '--bundle', rbacBundle, '--input', '-'],
      JSON.stringify(
        context({ method: 'DELETE', path: '/api/items/3', headers: { authorization: basic('bob') } }),
      ),
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ allowed: false, code: 'POLICY_DENIED', httpStatus: 403 });
  });

  it('--raw evaluates an input document directly', async () => {
    const doc = {
      attributes: { request: { http: { method: 'GET', headers: {} } } },
      parsed_path: ['healthz'],
      sigil: sigil(),
    };
    const r = await run(
      ['policy', 'eval', '--bundle', rbacBundle, '--input', '-', '--raw'],
      JSON.stringify(doc),
    );
    expect(JSON.parse(r.stdout)).toMatchObject({ allowed: true, code: 'OK' });
  });

  it('input that is not a policy context → POLICY_INPUT_INVALID, exit 1', async () => {
    const r = await run(['policy', 'eval', '--bundle', rbacBundle, '--input', '-'], '{"hello": 1}');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^POLICY_INPUT_INVALID:/);
  });

  it('malformed bundles from the shared table → POLICY_BUNDLE_INVALID, exit 1', async () => {
    const bundle = readFileSync(rbacBundle);
    const valid = { bundle, wasm: readTar(gunzipSync(bundle)).get('/policy.wasm')! };
    for (const c of MALFORMED_BUNDLES.filter((x) => !x.options).slice(1, 3)) {
      const f = join(tmp.dir, 'bad.tar.gz');
      writeFileSync(f, c.build(valid));
      const r = await run(['policy', 'eval', '--bundle', f, '--input', '-'], JSON.stringify(context()));
      expect(r.code, c.name).toBe(1);
      expect(r.stderr, c.name).toMatch(/^POLICY_BUNDLE_INVALID:/);
    }
  });
});
