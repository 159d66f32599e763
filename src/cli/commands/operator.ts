/** `sigil operator`: run the Kubernetes operator (docs/operator.md) until SIGTERM/SIGINT. */
import type { Command } from 'commander';
import { runCommand } from '../context.js';

/** Registers `sigil operator`. */
export function register(program: Command): void {
  program
    .command('operator')
    .description(
      'run the Kubernetes operator: CRDs → policy/trust/revocation documents, sidecar injection webhook',
    )
    .requiredOption(
      '--operator-config <file>',
      'operator configuration (YAML, `operator:` key; docs/operator.md)',
    )
    .action((opts: { operatorConfig: string }) =>
      runCommand(async () => {
        // Loaded on use: @kubernetes/client-node is large and only this command needs it.
        const { loadOperatorConfig, startOperator } = await import('../../operator/index.js');
        // Validated before anything starts: a bad key fails here with OPERATOR_CONFIG_INVALID naming it.
        const config = loadOperatorConfig(opts.operatorConfig);
        const op = await startOperator(config);
        await op.synced;
        await new Promise<void>((resolve) => {
          const stop = (signal: string) => {
            op.logger.info({ signal }, 'stopping');
            op.close().then(resolve, resolve);
          };
          process.once('SIGTERM', () => stop('SIGTERM'));
          process.once('SIGINT', () => stop('SIGINT'));
        });
      }),
    );
}
