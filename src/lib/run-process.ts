/**
 * A child process run to completion without blocking the event loop (unlike `spawnSync`): what the sidecar uses
 * for the OPA CLI while it keeps answering Checks (admin API policy activation and replay).
 */
import { spawn } from 'node:child_process';

/** How a {@link runProcess} run ended; `status` is null when it could not start or was killed. */
export interface ProcessResult {
  status: number | null;
  stdout: string;
  stderr: string;
  /** Why it did not start, or `timed out`. */
  error?: string;
}

/** Runs `cmd args` in `cwd`, collecting its output (UTF-8); never rejects. Killed after `timeoutMs` (default 120 s). */
export function runProcess(
  cmd: string,
  args: readonly string[],
  o: { cwd?: string; timeoutMs?: number } = {},
): Promise<ProcessResult> {
  return new Promise((done) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let error: string | undefined;
    const child = spawn(cmd, args, { cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => {
      error = 'timed out';
      child.kill('SIGKILL');
    }, o.timeoutMs ?? 120_000);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      error = e.message;
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const r: ProcessResult = {
        status: error === undefined ? code : null,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      };
      if (error !== undefined) r.error = error;
      done(r);
    });
  });
}
