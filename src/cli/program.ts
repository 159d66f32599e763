/**
 * The `sigil` command line, loaded by src/cli/main.ts once the runtime check passed. Each command group lives
 * in src/cli/commands/<group>.ts and exports `register(program)`; this file only wires them together, in
 * help order.
 */
import { Command } from 'commander';
import { register as registerAudit } from './commands/audit.js';
import { register as registerDelegate } from './commands/delegate.js';
import { register as registerDemo } from './commands/demo.js';
import { register as registerInspect } from './commands/inspect.js';
import { register as registerKeys } from './commands/keys.js';
import { register as registerMint } from './commands/mint.js';
import { register as registerOperator } from './commands/operator.js';
import { register as registerPolicy } from './commands/policy.js';
import { register as registerRevoke } from './commands/revoke.js';
import { register as registerServe } from './commands/serve.js';
import { register as registerVerify } from './commands/verify.js';

const program = new Command('sigil')
  .description(
    'SIGIL: zero-trust identity sidecar for AI agents (Envoy ext_authz, TBIT delegation chains, Merkle audit log)',
  )
  .option('--data <dir>', 'data directory (env SIGIL_DATA)', process.env.SIGIL_DATA)
  .option('--config <file>', 'YAML config file (env SIGIL_CONFIG)', process.env.SIGIL_CONFIG)
  .showHelpAfterError()
  .enablePositionalOptions();

for (const register of [
  registerServe,
  registerDemo,
  registerKeys,
  registerMint,
  registerDelegate,
  registerVerify,
  registerInspect,
  registerRevoke,
  registerAudit,
  registerPolicy,
  registerOperator,
])
  register(program);

await program.parseAsync(process.argv);
