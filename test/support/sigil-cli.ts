/**
 * The `sigil` CLI as a user runs it, for tests: a child `node --import tsx src/cli/main.ts <args>` (no build
 * needed) from the repository root, with `SIGIL_DATA`/`SIGIL_CONFIG` emptied so the developer's own
 * environment never reaches a test (pass `env` to set them), its exit code and output collected.
 */
import { spawn, spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
/** The CLI entry point the tests run. */
export const CLI_MAIN = join(ROOT, 'src/cli/main.ts');

/** How one CLI run ended. */
export interface CliRun {
  /** Exit code (null when killed by a signal). */
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Options of {@link runCli} and {@link runCliSync}. */
export interface CliOptions {
  /** Added to the environment (after `SIGIL_DATA`/`SIGIL_CONFIG` are emptied). */
  env?: NodeJS.ProcessEnv;
  /** Written to the child's stdin, which is then closed (default: no stdin). */
  stdin?: string;
  /** Kill the child after this many ms (default: none for {@link runCli}, 60 s for {@link runCliSync}). */
  timeout?: number;
}

const spawnArgs = (args: string[], o: CliOptions) =>
  [
    process.execPath,
    ['--import', 'tsx', CLI_MAIN, ...args],
    {
      cwd: ROOT,
      env: { ...process.env, SIGIL_DATA: '', SIGIL_CONFIG: '', ...o.env },
      ...(o.timeout !== undefined ? { timeout: o.timeout } : {}),
    },
  ] as const;

/** Runs `sigil <args>`; resolves once it exits. */
export function runCli(args: string[], o: CliOptions = {}): Promise<CliRun> {
  const [node, argv, opts] = spawnArgs(args, o);
  return new Promise((done, fail) => {
    const child = spawn(node, argv, {
      ...opts,
      stdio: [o.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin?.end(o.stdin);
    child.once('error', fail);
    child.once('close', (code) => done({ code, stdout, stderr }));
  });
}

/** {@link runCli}, blocking (for tests that run many short commands in a row). */
export function runCliSync(args: string[], o: CliOptions = {}): CliRun {
  const [node, argv, opts] = spawnArgs(args, { timeout: 60_000, ...o });
  const r = spawnSync(node, argv, {
    ...opts,
    encoding: 'utf8',
    ...(o.stdin !== undefined ? { input: o.stdin } : {}),
  });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
