/** `sigil serve`: run the sidecar (ext_authz gRPC, issuer endpoint, admin server) until SIGTERM/SIGINT. */
import { getHeapStatistics } from 'node:v8';
import type { Command } from 'commander';
import { ConfigError } from '../../config/index.js';
import {
  collectStartupGarbage,
  startSigil,
  startupFlags,
  startupFlagsToAdd,
  tuneRuntime,
} from '../../serve/index.js';
import { cliConfig, runCommand } from '../context.js';

/** Set in the environment of the re-executed `sigil serve` (heap flags added), so it never loops. */
const REEXEC_MARKER = 'SIGIL_SERVE_REEXEC';

/** Registers `sigil serve`. */
export function register(program: Command): void {
  program
    .command('serve')
    .description('run the sidecar: Envoy ext_authz v3 gRPC service, local issuer endpoint and admin server')
    .option('--listen <addr>', 'ext_authz listener, host:port or unix:/path (sigil.authz.listen)')
    .option('--admin <addr>', 'admin/metrics listener (sigil.admin.listen)')
    .option('--drain-ms <ms>', 'longest wait for in-flight checks on shutdown', '5000')
    .action((opts: { listen?: string; admin?: string; drainMs: string }, cmd: Command) =>
      runCommand(async () => {
        // Flags go through the config schema like every other source, so a bad address is CONFIG_INVALID.
        const config = cliConfig(cmd, {
          ...(opts.listen ? { authz: { listen: opts.listen } } : {}),
          ...(opts.admin ? { admin: { listen: opts.admin } } : {}),
        });
        const drainMs = Number(opts.drainMs);
        if (!Number.isSafeInteger(drainMs) || drainMs < 0 || drainMs > 600_000) {
          throw new ConfigError(
            'CONFIG_INVALID',
            '--drain-ms must be an integer number of milliseconds in [0, 600000]',
          );
        }
        // V8 sizes its heap and starts its collector threads when the process starts: re-execute (same pid,
        // same stdio) with the start-up flags `sigil.runtime` asks for, before anything is opened. The marker
        // stops a second round.
        const wanted = startupFlags(config.runtime);
        const add = startupFlagsToAdd(wanted, process.execArgv, process.env.NODE_OPTIONS);
        const reexecuted = process.env[REEXEC_MARKER] === '1';
        // Not passed on to anything this process starts: a `sigil serve` started from here re-executes too.
        delete process.env[REEXEC_MARKER];
        const reexec = add.length > 0 && !reexecuted && process.execve !== undefined;
        let execveError: unknown;
        if (reexec) {
          try {
            process.execve?.(
              process.execPath,
              [process.execPath, ...add, ...process.execArgv, ...process.argv.slice(1)],
              { ...process.env, [REEXEC_MARKER]: '1' },
            );
          } catch (e) {
            // E.g. a sandbox refusing execve: serve with V8's sizes rather than not at all (warned below).
            execveError = e;
          }
        }
        const v8Flags = [
          ...tuneRuntime(config.runtime),
          ...wanted.filter((f) => process.execArgv.includes(f)),
        ];
        const sigil = await startSigil(config, { drainMs });
        // Once, right after start-up: the old generation's first limit then follows the live set (tune-runtime.ts).
        const startupGcMs = collectStartupGarbage();
        const heap = getHeapStatistics();
        sigil.logger.info(
          {
            v8_flags: v8Flags,
            pid: process.pid,
            heap_size_limit_mib: Math.round(heap.heap_size_limit / 2 ** 20),
            startup_gc_ms: Math.round(startupGcMs * 10) / 10,
            heap_used_mib: Math.round(heap.used_heap_size / 2 ** 20),
          },
          'runtime tuned',
        );
        const missing = startupFlagsToAdd(wanted, process.execArgv, process.env.NODE_OPTIONS);
        if (missing.length > 0)
          sigil.logger.warn(
            { missing, ...(execveError !== undefined ? { err: execveError } : {}) },
            'sigil.runtime start-up flags not applied (re-executing needs process.execve, Node >= 22.15): set them on the node command line',
          );
        await new Promise<void>((resolve) => {
          const stop = (signal: string) => {
            sigil.logger.info({ signal }, 'draining');
            // A second signal stops at once.
            process.once('SIGINT', () => process.exit(130));
            process.once('SIGTERM', () => process.exit(143));
            const hard = setTimeout(() => process.exit(1), drainMs + 5000);
            hard.unref();
            sigil.close().then(resolve, resolve);
          };
          process.once('SIGTERM', () => stop('SIGTERM'));
          process.once('SIGINT', () => stop('SIGINT'));
        });
      }),
    );
}
