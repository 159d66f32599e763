/**
 * Child processes of the harness: spawned pinned to a CPU set (`taskset -c`), their output kept in a
 * log file, readiness detected from a line they print, and stopped by pid (never by name).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, type WriteStream, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';

/** A running child process started by {@link startProcess}. */
export interface Proc {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** All stdout+stderr so far (also mirrored to the log file). */
  output(): string;
  /** Resolves with the first match of `re` in the output (waits up to `timeoutMs`). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(graceMs?: number): Promise<number | null>;
  /** True once the process has exited. */
  exited(): boolean;
}

/** How to start one process. */
export interface ProcSpec {
  name: string;
  cmd: string;
  args: string[];
  /** CPU list for taskset, e.g. "1" or "0,1"; undefined = not pinned. */
  cpus?: string | undefined;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  logFile: string;
}

// Every child still running when the harness exits (error, Ctrl-C) is killed by its pid, so a failed
// run never leaves Envoy, an authorizer or an upstream behind.
const live = new Set<ChildProcess>();
let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const c of live) c.kill('SIGKILL');
      process.exit(130);
    });
  }
}

let niceLevel = 0;
/**
 * Sets the nice level every process started afterwards runs at (0 = inherit). With the kernel's
 * autogroup scheduling on (sched_autogroup_enabled = 1), nice only orders threads WITHIN a session's
 * group and groups share the CPU equally, so the harness's own autogroup gets the same nice value
 * (proc(5): /proc/<pid>/autogroup; root only). Returns how the priority was applied, for the report.
 */
export function setNice(level: number): string {
  niceLevel = level;
  if (level === 0) return '';
  let how = `every benchmark process at nice ${level}`;
  try {
    if (readFileSync('/proc/sys/kernel/sched_autogroup_enabled', 'utf8').trim() === '1') {
      // The autogroup is the whole terminal session's: put its old priority back when the harness exits.
      const before = readFileSync('/proc/self/autogroup', 'utf8').match(/nice (-?\d+)/)?.[1] ?? '0';
      process.on('exit', () => {
        try {
          writeFileSync('/proc/self/autogroup', before);
        } catch {
          // Best effort: nothing else to do on the way out.
        }
      });
      writeFileSync('/proc/self/autogroup', String(level));
      how += `, and the benchmark's scheduler autogroup at nice ${level} (${readFileSync('/proc/self/autogroup', 'utf8').trim()})`;
    }
  } catch (e) {
    how += ` (autogroup priority NOT applied: ${(e as Error).message}; other sessions still compete equally)`;
  }
  return how;
}

/** Starts a process (through taskset when `cpus` is set, so every thread it creates inherits the mask). */
export function startProcess(spec: ProcSpec): Proc {
  mkdirSync(dirname(spec.logFile), { recursive: true });
  let [cmd, args] = spec.cpus
    ? ['taskset', ['-c', spec.cpus, spec.cmd, ...spec.args]]
    : [spec.cmd, spec.args];
  // A negative nice value (root only) shields the measured processes from other work on the machine.
  if (niceLevel !== 0) [cmd, args] = ['nice', ['-n', String(niceLevel), cmd, ...args]];
  const child = spawn(cmd, args, {
    env: spec.env ?? process.env,
    cwd: spec.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  hookExit();
  live.add(child);
  child.on('exit', () => live.delete(child));
  const log: WriteStream = createWriteStream(spec.logFile);
  let out = '';
  let done = false;
  let exitCode: number | null = null;
  const waiters = new Set<() => void>();
  const onData = (b: Buffer) => {
    log.write(b);
    // Keep only the head and a tail window: readiness lines come early, crashes at the end.
    if (out.length < 256 * 1024) out += b.toString('utf8');
    for (const w of waiters) w();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exitPromise = new Promise<number | null>((resolve) => {
    child.on('exit', (code, signal) => {
      done = true;
      exitCode = code ?? (signal ? 128 : null);
      log.end();
      for (const w of waiters) w();
      resolve(exitCode);
    });
    child.on('error', (e) => {
      out += `\n[spawn error] ${e.message}\n`;
      done = true;
      for (const w of waiters) w();
      resolve(null);
    });
  });
  if (child.pid === undefined) throw new Error(`${spec.name}: could not spawn ${spec.cmd}`);
  const pid = child.pid;
  return {
    name: spec.name,
    pid,
    child,
    output: () => out,
    exited: () => done,
    waitFor(re, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = out.match(re);
          if (m) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(m);
          } else if (done) {
            waiters.delete(check);
            clearTimeout(timer);
            reject(
              new Error(
                `${spec.name} exited (${exitCode}) before printing ${re}; log ${spec.logFile}:\n${out.slice(-2000)}`,
              ),
            );
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `${spec.name}: no ${re} within ${timeoutMs} ms; log ${spec.logFile}:\n${out.slice(-2000)}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async stop(graceMs = 5000) {
      if (done) return exitCode;
      child.kill('SIGTERM');
      const t = setTimeout(() => {
        if (!done) child.kill('SIGKILL');
      }, graceMs);
      const code = await exitPromise;
      clearTimeout(t);
      return code;
    },
  };
}

/** A free TCP port on 127.0.0.1 (bound then released; the OS does not hand it out again at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `fn` until it returns true or `timeoutMs` passes. */
export async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      if (await fn()) return;
    } catch (e) {
      last = e;
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
