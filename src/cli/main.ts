#!/usr/bin/env node
/**
 * `sigil` command line. Each command group lives in src/cli/commands/<group>.ts and exports
 * `register(program)`; this file only wires them together.
 */
import { Command } from 'commander';
import { commands } from './commands/index.js';

const program = new Command('sigil')
  .description(
    'SIGIL: zero-trust identity sidecar for AI agents (Envoy ext_authz, TBIT delegation chains, Merkle audit log)',
  )
  .option('--data <dir>', 'data directory (env SIGIL_DATA)', process.env.SIGIL_DATA)
  .option('--config <file>', 'YAML config file (env SIGIL_CONFIG)', process.env.SIGIL_CONFIG)
  .showHelpAfterError()
  .enablePositionalOptions();

for (const register of commands) register(program);

await program.parseAsync(process.argv);
