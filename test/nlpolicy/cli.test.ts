/** `sigil policy compile|explain` as a real child process (tsx), with the real OPA CLI. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compilePolicy } from '../../src/nlpolicy/index.js';
import { evaluatePolicy, loadBundle } from '../../src/policy/index.js';
import { POLICY_DIR, tempDir } from '../policy/support.js';
import { type CliRun, runCli } from '../support/sigil-cli.js';
import { checkRequestFor, sigilFor } from './support.js';

const tmp = tempDir('sigil-nlpolicy-cli-');
afterAll(() => tmp.cleanup());

const run = (args: string[], stdin?: string): Promise<CliRun> =>
  runCli(args, { env: { SIGIL_DATA: tmp.dir }, stdin: stdin ?? '' });

const POLICY = `# Research agents: search and read, never a shell.
research agents may call web.search and fs.read, never shell.*.
any agent may make GET requests to /api/items/* only on weekdays between 09:00 and 17:00 in Europe/Paris.
requests with a body larger than 1 MiB are denied.
denied requests get status 429 and message "not allowed by policy".
`;

describe('sigil policy compile', () => {
  it('writes the Rego, its tests and the explanation, checks them with opa and builds a bundle', async () => {
    const file = join(tmp.dir, 'policy.txt');
    writeFileSync(file, POLICY);
    const out = join(tmp.dir, 'out');
    const r = await run(['policy', 'compile', file, '--out', out, '--build', '--revision', 'nl-1']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as {
      rules: number;
      tests: string;
      bundle: { bundle: string; revision: string };
    };
    const expected = compilePolicy(POLICY, { source: file });
    // 4 rules (s1, s1b, s2, s3) + the status sentence s4: opa test ran a positive and a negative rule case per
    // rule, the status case, and the decision on the same 8 requests.
    expect(report.rules).toBe(expected.explanation.length);
    expect(report.tests).toMatch(/^PASS: (\d+)\/\1$/);
    expect(Number(/PASS: (\d+)/.exec(report.tests)![1])).toBe(2 * 4 + 1 + 2 * 4);
    // Byte-identical to the in-process compiler (another process, same words).
    expect(readFileSync(join(out, 'policy.rego'), 'utf8')).toBe(expected.rego);
    expect(readFileSync(join(out, 'policy_test.rego'), 'utf8')).toBe(expected.testRego);
    expect(readFileSync(join(out, 'explanation.txt'), 'utf8')).toBe(
      expected.explanation.map((e) => `${e.rule} (line ${e.line}): ${e.words}\n`).join(''),
    );

    // The bundle holds only the policy (no test module) and decides as the words say.
    const bundle = await loadBundle(readFileSync(report.bundle.bundle));
    expect(bundle.revision).toBe('nl-1');
    expect(report.bundle.revision).toBe('nl-1');
    const at = (c: Parameters<typeof sigilFor>[0]) => ({
      clock: { nowMs: () => Date.parse(c.at ?? '2026-01-07T10:00:00Z') },
    });
    const cases = [
      {
        c: { agent: 'research/i1', tool: 'web.search', expect: 'allow' as const },
        allowed: true,
        status: 200,
      },
      {
        c: { agent: 'research/i1', tool: 'shell.exec', expect: 'deny' as const },
        allowed: false,
        status: 429,
      },
      {
        c: { agent: 'billing/i1', tool: 'web.search', expect: 'deny' as const },
        allowed: false,
        status: 429,
      },
      {
        c: { agent: 'ops/i1', method: 'GET', path: '/api/items/3', expect: 'allow' as const },
        allowed: true,
        status: 200,
      },
      {
        c: {
          agent: 'ops/i1',
          method: 'GET',
          path: '/api/items/3',
          at: '2026-01-10T10:00:00Z',
          expect: 'deny' as const,
        },
        allowed: false,
        status: 429,
      },
    ];
    for (const { c, allowed, status } of cases) {
      const v = evaluatePolicy(bundle, { checkRequest: checkRequestFor(c, 't'), sigil: sigilFor(c) }, at(c));
      expect([v.allowed, v.httpStatus], JSON.stringify(c)).toEqual([allowed, status]);
    }
  }, 60_000);

  it('reads stdin and refuses a text with one unsupported sentence, writing nothing', async () => {
    const out = join(tmp.dir, 'refused');
    const r = await run(
      ['policy', 'compile', '-', '--out', out],
      'research agents may call web.search.\nresearch agents may cal fs.read.\n',
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'NLPOLICY_UNSUPPORTED_SENTENCE: <stdin>:2:21: unsupported sentence "research agents may cal fs.read": ' +
        'expected call <tool> | make GET requests to <path> | do anything at "cal fs.read"; ' +
        'nearest supported phrasing: "research agents may call fs.read"\n',
    );
    expect(existsSync(out)).toBe(false);
  });

  it('--check runs opa check --strict and opa test without building', async () => {
    const out = join(tmp.dir, 'checked');
    const r = await run(
      ['policy', 'compile', '-', '--out', out, '--check'],
      'billing agents may call pay.*.\n',
    );
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as { tests: string; bundle?: unknown };
    expect(report.tests).toBe('PASS: 4/4');
    expect(report.bundle).toBeUndefined();
    expect(existsSync(join(out, 'bundle.tar.gz'))).toBe(false);
  }, 30_000);
});

describe('docs/policy-language.md', () => {
  it('its example policy compiles and its generated tests pass opa test', async () => {
    const doc = readFileSync('docs/policy-language.md', 'utf8');
    const example = /## 9\. Examples\n\n```text\n([\s\S]*?)```/.exec(doc)![1]!;
    const r = await run(
      ['policy', 'compile', '-', '--out', join(tmp.dir, 'doc-example'), '--check'],
      example,
    );
    expect(r.stderr).toBe('');
    // 9 rules with both cases, s10 the status sentence: 18 + 1 rule-level and 18 decision-level tests.
    expect(JSON.parse(r.stdout)).toMatchObject({ rules: 10, tests: 'PASS: 37/37' });
  }, 30_000);
});

describe('sigil policy explain', () => {
  it('gives the sentences back from a compiled bundle and from the .rego', async () => {
    const out = join(tmp.dir, 'explain');
    mkdirSync(out, { recursive: true });
    const r = await run(['policy', 'compile', '-', '--out', out, '--build'], POLICY);
    expect(r.code).toBe(0);
    const fromBundle = await run(['policy', 'explain', join(out, 'bundle.tar.gz')]);
    expect(fromBundle.code).toBe(0);
    const fromRego = await run(['policy', 'explain', join(out, 'policy.rego')]);
    expect(fromRego.code).toBe(0);
    const digest = /"source_sha256": "([0-9a-f]{64})"/.exec(
      readFileSync(join(out, 'policy.rego'), 'utf8'),
    )![1];
    const body = [
      `Compiled from controlled English (source sha256 ${digest}).`,
      'A request is allowed when at least one allow rule matches it and no deny rule does (deny wins);',
      'every other request is denied.',
      '',
      's1 (line 2) allows: research agents may call web.search and fs.read, never shell.*',
      's1b (line 2) denies: research agents may call web.search and fs.read, never shell.*',
      's2 (line 3) allows: any agent may make GET requests to /api/items/* only on weekdays between 09:00 and 17:00 in Europe/Paris',
      's3 (line 4) denies: requests with a body larger than 1 MiB are denied',
      's4 (line 5) sets the deny response: denied requests get status 429 and message "not allowed by policy"',
      '',
    ].join('\n');
    expect(fromRego.stdout).toBe(body);
    // The bundle ships the sources it was built from (/.sigil/sources.json, docs/policy.md §10), named as
    // in the build folder, so explain reads the same text.
    expect(fromBundle.stdout).toBe(`policy.rego:\n${body}`);
  }, 60_000);

  it('summarizes Rego it did not write: rules, input fields and builtins', async () => {
    const r = await run(['policy', 'explain', join(POLICY_DIR, 'examples/rbac/policy.rego')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('was not written by `sigil policy compile`; summary of package envoy.authz');
    expect(r.stdout).toContain('- defaults: allow = false');
    expect(r.stdout).toMatch(/- input fields read: .*input\.attributes\.request\.http/);
    expect(r.stdout).toMatch(/- builtins called: .*base64\.decode/);
  });
});
