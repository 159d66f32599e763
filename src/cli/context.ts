/**
 * Shared CLI plumbing: global options (--data, --config) → validated config, and a uniform way to fail.
 * Every command module exports `register(program)` and uses {@link cliConfig} / {@link runCommand}.
 */
import type { Command } from 'commander';
import { loadConfig, type SigilConfig } from '../config/index.js';
import { SigilError } from '../lib/errors.js';

/** Global options every command sees. */
export interface GlobalOptions {
  data?: string;
  config?: string;
}

/** Loads the validated config for a command, honouring --data and --config. */
export function cliConfig(cmd: Command): SigilConfig {
  const opts = cmd.optsWithGlobals<GlobalOptions>();
  return loadConfig({
    ...(opts.config ? { file: opts.config } : {}),
    ...(opts.data ? { overrides: { data_dir: opts.data } } : {}),
  });
}

/**
 * Runs a command body; a SigilError prints `CODE: message` on stderr and exits with `exitCode`
 * (default 1); anything else exits 2 as an internal error.
 */
export async function runCommand(body: () => Promise<void> | void, exitCode = 1): Promise<void> {
  try {
    await body();
  } catch (e) {
    if (e instanceof SigilError) {
      process.stderr.write(`${e.code}: ${e.message}\n`);
      process.exitCode = exitCode;
    } else {
      process.stderr.write(`INTERNAL: ${(e as Error)?.stack ?? String(e)}\n`);
      process.exitCode = 2;
    }
  }
}

/** Reads all of stdin as UTF-8 (for `-` arguments). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
