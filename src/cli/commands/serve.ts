/** `sigil serve`: run the sidecar (ext_authz gRPC, issuer endpoint, admin server) until SIGTERM/SIGINT. */
import type { Command } from 'commander';
import { ConfigError } from '../../config/index.js';
import { startSigil, tuneRuntime } from '../../serve/index.js';
import { cliConfig, runCommand } from '../context.js';

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
        const v8Flags = tuneRuntime(config.runtime);
        const sigil = await startSigil(config, { drainMs });
        sigil.logger.info({ v8_flags: v8Flags }, 'runtime tuned');
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
