/** `sigil demo`: Envoy + SIGIL + a demo agent, allowed and denied calls, the ledger root and a verified receipt. */
import type { Command } from 'commander';
import { runDemo } from '../../demo/index.js';
import { runCommand } from '../context.js';

/** Registers `sigil demo`. */
export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'start Envoy + SIGIL + a demo agent on free ports, send allowed and denied calls, print the decisions and a verified receipt',
    )
    .option('--keep', 'keep the temporary data dir')
    .option(
      '--mesh',
      'three agents (an orchestrator, two MCP tool servers), each behind its own Envoy + SIGIL: delegation, MCP calls with proofs, stolen and replayed requests, revocation (needs @modelcontextprotocol/sdk)',
    )
    .option('--json', 'print the result as JSON after the report')
    .action((opts: { keep?: boolean; json?: boolean; mesh?: boolean }) =>
      runCommand(async () => {
        // Loaded on demand: the mesh demo needs the MCP SDK, an optional peer dependency.
        const result = opts.mesh
          ? await (await import('../../demo/run-mesh.js')).runMesh({ keep: opts.keep })
          : await runDemo({ keep: opts.keep });
        if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      }),
    );
}
