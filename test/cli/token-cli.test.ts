/**
 * The token CLI as a user runs it: a real child process (`node --import tsx src/cli/main.ts`) on a temp
 * data dir, checking stdout, stderr `CODE: message` lines and exit codes.
 */
import { execFile } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningIssuer, startIssuer } from '../../src/issuer/start.js';
import { verifyChain } from '../../src/token/index.js';
import { AGENT, cleanupDirs, OPERATOR, tempDir, testOptions, WORKER } from '../issuer/helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TOOL = 'spiffe://sigil.mesh/agent/tool/3';

/** Newest mtime of any .ts file under `dir`. */
function newestSource(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newestSource(p));
    else if (e.name.endsWith('.ts')) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

/**
 * The built CLI when dist/ is up to date (`npm test` builds first: starts in ~0.3 s), else the sources
 * through tsx (several seconds per run on a busy machine, but never a stale build).
 */
const CLI: string[] = (() => {
  try {
    if (statSync(join(ROOT, 'dist/src/cli/main.js')).mtimeMs >= newestSource(join(ROOT, 'src')))
      return ['dist/src/cli/main.js'];
  } catch {
    // no build
  }
  return ['--import', 'tsx', 'src/cli/main.ts'];
})();

/** A YAML config naming `bundle` as the trust bundle. */
function writeConfig(dir: string, bundle: string): string {
  const p = join(dir, 'sigil.yaml');
  writeFileSync(p, `sigil:\n  validator:\n    trust_bundle: ${JSON.stringify(bundle)}\n`);
  return p;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function sigil(dataDir: string, args: string[], stdin?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [...CLI, '--data', dataDir, ...args],
      { cwd: ROOT, env: { ...process.env, SIGIL_DATA: '', SIGIL_CONFIG: '' }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 99) : 0;
        resolve({ code, stdout: stdout.toString(), stderr: stderr.toString() });
      },
    );
    if (stdin !== undefined) child.stdin?.end(stdin);
    else child.stdin?.end();
  });
}

describe('sigil token CLI', { timeout: 120_000 }, () => {
  const data = tempDir('sigil-cli-');
  let root = '';
  let child = '';

  afterAll(cleanupDirs);

  beforeAll(async () => {
    const init = await sigil(data, ['keys', 'init', '--agent', WORKER]);
    expect(init.code, init.stderr).toBe(0);
  }, 120_000);

  it('keys init made the issuer key and both agent keys; keys list shows them', async () => {
    const r = await sigil(data, ['keys', 'list', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as {
      issuer: { status: string }[];
      agents: { spiffe_id: string; local_agent: boolean }[];
    };
    expect(doc.issuer.map((k) => k.status)).toEqual(['signing']);
    expect(doc.agents.map((a) => [a.spiffe_id, a.local_agent]).sort()).toEqual([
      [AGENT, true],
      [WORKER, false],
    ]);
  });

  it('mint → delegate (stdin) → verify: exit 0, and the chain verifies in-process too', async () => {
    const m = await sigil(data, [
      'mint',
      '--sub',
      AGENT,
      '--task',
      'task-cli',
      '--tools',
      'fs.*,net.get',
      '--ttl',
      '300',
    ]);
    expect(m.code, m.stderr).toBe(0);
    root = m.stdout.trim();
    expect(root.split('.')).toHaveLength(3);
    const d = await sigil(
      data,
      ['delegate', '--parent', '-', '--to', WORKER, '--tools', 'fs.read'],
      `${root}\n`,
    );
    expect(d.code, d.stderr).toBe(0);
    child = d.stdout.trim();
    expect(child.startsWith(`${root}~`)).toBe(true);
    const v = await sigil(data, ['verify', child, '--tool', 'fs.read', '--json']);
    expect(v.code, v.stderr).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({
      valid: true,
      depth: 2,
      sub: WORKER,
      task_id: 'task-cli',
      tool_scope: ['fs.read'],
    });
  });

  it('verify exits 1 with the code: tool out of scope, audience mismatch, garbage', async () => {
    const tool = await sigil(data, ['verify', child, '--tool', 'fs.write']);
    expect(tool.code).toBe(1);
    expect(tool.stderr).toMatch(/^TBIT_TOOL_NOT_IN_SCOPE: /m);
    const aud = await sigil(data, ['verify', child, '--aud', 'spiffe://other.mesh/agent/x/1', '--json']);
    expect(aud.code).toBe(1);
    expect(JSON.parse(aud.stdout)).toMatchObject({ valid: false, code: 'TBIT_AUDIENCE_MISMATCH' });
    const junk = await sigil(data, ['verify', 'not.a~token']);
    expect(junk.code).toBe(1);
    expect(junk.stderr).toMatch(/^TBIT_MALFORMED: /m);
  });

  it('a widening delegate exits non-zero with TBIT_SCOPE_WIDENED on stderr and prints no token', async () => {
    const r = await sigil(data, ['delegate', '--parent', child, '--to', TOOL, '--tools', 'fs.*']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^TBIT_SCOPE_WIDENED: /m);
    expect(r.stdout).toBe('');
  });

  it('a delegate from a key this data dir does not hold exits with ISSUER_NOT_HOLDER', async () => {
    const other = tempDir('sigil-cli-other-');
    const r = await sigil(other, ['mint', '--sub', AGENT, '--task', 't', '--tools', 'fs.read']);
    expect(r.code, r.stderr).toBe(0);
    // Root from another data dir: unknown issuer key here, so it is refused before any holder lookup.
    const d = await sigil(data, [
      'delegate',
      '--parent',
      r.stdout.trim(),
      '--to',
      TOOL,
      '--tools',
      'fs.read',
    ]);
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(/^TBIT_UNKNOWN_KEY: /m);
    // With the other issuer's JWKS as trust bundle (`sigil keys jwks --out`), its root verifies here.
    const bundle = join(other, 'bundle.json');
    expect((await sigil(other, ['keys', 'jwks', '--out', bundle])).code).toBe(0);
    const v = await sigil(data, ['--config', writeConfig(other, bundle), 'verify', r.stdout.trim()]);
    expect(v.code, v.stderr).toBe(0);
    // Our own root for a subject whose key we don't hold: refused as not the holder.
    const x = `{"kty":"OKP","crv":"Ed25519","x":"${Buffer.alloc(32, 5).toString('base64url')}"}`;
    const m = await sigil(data, [
      'mint',
      '--sub',
      'spiffe://sigil.mesh/agent/far/1',
      '--task',
      't',
      '--tools',
      'fs.read',
      '--holder-key',
      x,
    ]);
    expect(m.code, m.stderr).toBe(0);
    const n = await sigil(data, [
      'delegate',
      '--parent',
      m.stdout.trim(),
      '--to',
      TOOL,
      '--tools',
      'fs.read',
    ]);
    expect(n.code).toBe(1);
    expect(n.stderr).toMatch(/^ISSUER_NOT_HOLDER: /m);
  });

  it('inspect prints a table with every hop and what it narrowed', async () => {
    const three = await sigil(data, [
      'delegate',
      '--parent',
      child,
      '--to',
      TOOL,
      '--tools',
      'fs.read',
      '--ttl',
      '60',
    ]);
    expect(three.code, three.stderr).toBe(0);
    expect(three.stderr).toMatch(/terminal/);
    const r = await sigil(data, ['inspect', three.stdout.trim()]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    const hop = (n: number) => lines.find((l) => l.startsWith(`${n} `)) ?? '';
    expect(hop(1)).toContain(AGENT);
    expect(hop(1)).toContain('(root)');
    expect(hop(2)).toContain(WORKER);
    expect(hop(2)).toContain('scope fs.*,net.get → fs.read');
    expect(hop(3)).toContain(TOOL);
    expect(hop(3)).toMatch(/exp −\d+s/);
    expect(hop(3)).toContain('no further delegation');
    expect(r.stdout).toContain("verification: valid with this sidecar's trust");
  });

  it('bad input exits 1 with a code, never a stack trace', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['mint', '--sub', 'spiffe://sigil.mesh/agent/../x', '--task', 't', '--tools', 'a'],
        /^TBIT_INVALID_SPIFFE_ID: /m,
      ],
      [['mint', '--sub', AGENT, '--task', 't', '--tools', 'a', '--ttl', '10m'], /^ISSUER_BAD_REQUEST: /m],
      [
        ['mint', '--sub', AGENT, '--task', 't', '--tools', 'a', '--holder-key', '{"kty":"OKP"}'],
        /^ISSUER_BAD_REQUEST: /m,
      ],
      [['revoke'], /^ISSUER_BAD_REQUEST: /m],
      [['revoke', '--task', 'a', '--jti', 'b'], /^ISSUER_BAD_REQUEST: /m],
    ];
    for (const [args, re] of cases) {
      const r = await sigil(data, args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(re);
      expect(r.stderr).not.toMatch(/INTERNAL|\n\s+at /);
    }
  });

  it('--help works on every token command', async () => {
    for (const cmd of [
      ['keys'],
      ['keys', 'init'],
      ['keys', 'rotate'],
      ['keys', 'list'],
      ['keys', 'jwks'],
      ['mint'],
      ['delegate'],
      ['verify'],
      ['inspect'],
      ['revoke'],
    ]) {
      const r = await sigil(data, [...cmd, '--help']);
      expect(r.code, cmd.join(' ')).toBe(0);
      expect(r.stdout).toContain(`Usage: sigil ${cmd.join(' ')}`);
    }
  });
});

describe('CLI and a running issuer share the data dir', { timeout: 120_000 }, () => {
  let issuer: RunningIssuer;
  let data = '';
  beforeAll(async () => {
    data = tempDir('sigil-cli-serve-');
    issuer = await startIssuer(testOptions(data, { issuer: { operator_token: OPERATOR } }));
  });
  afterAll(async () => {
    await issuer.close();
    cleanupDirs();
  });

  it('`sigil revoke --task` in another process: the server refuses the chain from then on', async () => {
    const token = issuer.service.mint(
      { sub: AGENT, task_id: 'task-x', tool_scope: ['fs.*'] },
      { kind: 'remote', credential: OPERATOR },
    ).token;
    const trust = issuer.stores.trust;
    expect(verifyChain(token, { trust }).depth).toBe(1);
    const r = await sigil(data, ['revoke', '--task', 'task-x']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^revoked: task task-x at /);
    // The server notices the file change by itself (fs.watch / mtime poll).
    await expect
      .poll(
        () => {
          try {
            verifyChain(token, { trust });
            return 'valid';
          } catch (e) {
            return (e as { code: string }).code;
          }
        },
        { timeout: 10_000, interval: 100 },
      )
      .toBe('TBIT_REVOKED');
    const res = await fetch(`${issuer.http!.url}/v1/delegate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, to: WORKER, tool_scope: ['fs.read'] }),
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { code: string }).code).toBe('TBIT_REVOKED');
  });

  it('`sigil keys rotate` in another process: the server publishes both keys and signs with the new one', async () => {
    const before = issuer.service.jwks().keys.map((k) => k.kid);
    expect(before).toHaveLength(1);
    const r = await sigil(data, ['keys', 'rotate', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const { signing_kid } = JSON.parse(r.stdout) as { signing_kid: string };
    const jwks = (await (await fetch(`${issuer.http!.url}/.well-known/jwks.json`)).json()) as {
      keys: { kid: string }[];
    };
    expect(jwks.keys.map((k) => k.kid)).toEqual([...before, signing_kid]);
    const minted = await fetch(`${issuer.http!.url}/v1/mint`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${OPERATOR}` },
      body: JSON.stringify({ sub: AGENT, task_id: 'after-rotate', tool_scope: ['fs.read'] }),
    });
    expect(((await minted.json()) as { kid: string }).kid).toBe(signing_kid);
  });
});
