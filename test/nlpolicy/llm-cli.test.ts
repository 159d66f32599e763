/**
 * `sigil policy compile --llm` as a child process against a fake Messages API on loopback: the diff is shown
 * before anything is written; without a terminal it stops there unless --yes; with --yes --build the bundle is
 * built and loads.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBundle } from '../../src/policy/index.js';
import { runCli } from '../support/sigil-cli.js';

const POLICY = `package envoy.authz

default allow := false

allow if {
	input.sigil.valid == true
	count(input.sigil.tools) > 0
	every t in input.sigil.tools {
		t == "web.search"
	}
}
`;
const TESTS = `package envoy.authz_test

import data.envoy.authz

test_search if {
	authz.allow with input as {"sigil": {"valid": true, "tools": ["web.search"]}}
}

test_other if {
	not authz.allow with input as {"sigil": {"valid": true, "tools": ["fs.write"]}}
}
`;

let server: Server;
let base: string;
const dir = mkdtempSync(join(tmpdir(), 'sigil-llm-cli-'));
const textFile = join(dir, 'policy.txt');

beforeAll(async () => {
  writeFileSync(textFile, 'any agent may call web.search.\n');
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          content: [{ type: 'text', text: `\`\`\`rego\n${POLICY}\`\`\`\n\`\`\`rego\n${TESTS}\`\`\`` }],
          stop_reason: 'end_turn',
        }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

const run = (args: string[], env: Record<string, string> = {}) =>
  runCli(args, { env: { SIGIL_DATA: dir, ANTHROPIC_API_KEY: 'sk-fake', ...env } });

describe('sigil policy compile --llm', () => {
  it('shows the diff and stops without a terminal and without --yes', async () => {
    const out = join(dir, 'a');
    const r = await run(['policy', 'compile', textFile, '--llm', '--base-url', base, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--- current/policy.rego\n+++ candidate/policy.rego\n@@ -0,0 +1,');
    expect(r.stderr).toContain('+\t\tt == "web.search"');
    expect(r.stderr).toMatch(/NLPOLICY_LLM_NOT_CONFIRMED: the diff above was not confirmed/);
    expect(r.stderr).not.toContain('sk-fake');
    expect(existsSync(join(out, 'policy.rego'))).toBe(false);
  });

  it('with --yes --build writes the checked files and a bundle SIGIL loads', async () => {
    const out = join(dir, 'b');
    const r = await run([
      'policy',
      'compile',
      textFile,
      '--llm',
      '--base-url',
      base,
      '--out',
      out,
      '--yes',
      '--build',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.llm).toEqual({ model: 'claude-sonnet-4-5', parsed: 1, unparsed: 0, checked: 4 });
    expect(readFileSync(join(out, 'policy.rego'), 'utf8')).toBe(POLICY);
    expect(readFileSync(join(out, 'explanation.txt'), 'utf8')).toContain(
      'checked against the deterministic compiler: any agent may call web.search',
    );
    const bundle = await loadBundle(readFileSync(report.bundle.bundle));
    expect(bundle.entrypoint).toBe('envoy/authz/allow');
    // A second run diffs against what is now in --out: no change.
    const again = await run(['policy', 'compile', textFile, '--llm', '--base-url', base, '--out', out]);
    expect(again.stderr).toContain('(no change from the current policy)');
  });

  it('refuses to run without an API key', async () => {
    const r = await run(['policy', 'compile', textFile, '--llm', '--base-url', base], {
      ANTHROPIC_API_KEY: '',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^NLPOLICY_LLM_CONFIG: --llm needs \$ANTHROPIC_API_KEY/);
  });
});
