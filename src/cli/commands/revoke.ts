/**
 * `sigil revoke --task <id> | --jti <id>`: adds an entry to the data dir's revocation list. A running
 * `sigil serve` on the same data dir picks it up within about a second (fs.watch, mtime poll fallback).
 */
import type { Command } from 'commander';
import { IssuerError, LOCAL_OPERATOR } from '../../issuer/index.js';
import { printResult, runCommand, withLocal } from '../context.js';

/** Registers `sigil revoke`. */
export function register(program: Command): void {
  program
    .command('revoke')
    .description('revoke every token of a task, or one token by jti (and everything delegated from it)')
    .option('--task <id>', 'revoke the task id')
    .option('--jti <id>', 'revoke the token id')
    .option('--json', 'print JSON')
    .action((f: { task?: string; jti?: string; json?: boolean }, cmd: Command) =>
      runCommand(() => {
        if ((f.task === undefined) === (f.jti === undefined)) {
          throw new IssuerError('ISSUER_BAD_REQUEST', 'give exactly one of --task or --jti');
        }
        // The store's async revoke waits for a concurrent writer (e.g. the running server) instead of failing.
        return withLocal(cmd, async ({ service }) => {
          const r = await service.revokeWaiting(
            f.task !== undefined ? { task: f.task } : { jti: f.jti! },
            LOCAL_OPERATOR,
          );
          printResult(
            f.json,
            r,
            () => `${r.already ? 'already revoked' : 'revoked'}: ${r.kind} ${r.id} at ${r.at}`,
          );
        });
      }),
    );
}
