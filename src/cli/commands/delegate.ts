/**
 * `sigil delegate`: signs a child hop for a chain whose leaf `cnf` key is held in this data dir and
 * prints the whole new chain. Refusals exit non-zero with `CODE: message` on stderr.
 */
import type { Command } from 'commander';
import {
  parseAud,
  parseJwkArg,
  parseList,
  positiveInt,
  printResult,
  readTokenArg,
  withLocal,
} from '../context.js';

interface DelegateFlags {
  parent: string;
  to: string;
  tools: string;
  ttl?: string;
  aud?: string;
  toKey?: string;
  dmax?: string;
  json?: boolean;
}

/** Registers `sigil delegate`. */
export function register(program: Command): void {
  program
    .command('delegate')
    .description('delegate a token to a child SPIFFE ID with a narrowed scope (prints the child chain)')
    .requiredOption('--parent <token|->', 'the parent chain, or - to read it from stdin')
    .requiredOption('--to <spiffe>', "child's SPIFFE ID")
    .requiredOption('--tools <list>', 'comma-separated child scope (must be within the parent scope)')
    .option('--ttl <seconds>', "child lifetime (default: the rest of the parent's)")
    .option('--aud <spiffe,...>', "child audience (default: the parent's; must be within it)")
    .option(
      '--to-key <jwk>',
      "child's Ed25519 public JWK (JSON or @file) for cnf; default: the key held here for --to, else none (terminal hop)",
    )
    .option('--dmax <n>', 'maximum chain depth from here (may only shrink)')
    .option('--json', 'print the full result as JSON instead of the bare token')
    .action((f: DelegateFlags, cmd: Command) =>
      withLocal(cmd, async ({ service }) => {
        const parent = await readTokenArg(f.parent);
        const out = service.delegate({
          token: parent,
          to: f.to,
          tool_scope: parseList(f.tools),
          ...(f.ttl !== undefined ? { ttl: positiveInt(f.ttl, '--ttl') } : {}),
          ...(f.aud !== undefined ? { aud: parseAud(f.aud) } : {}),
          ...(f.toKey !== undefined ? { to_key: parseJwkArg(f.toKey, '--to-key') } : {}),
          ...(f.dmax !== undefined ? { dmax: positiveInt(f.dmax, '--dmax') } : {}),
        });
        printResult(f.json, out, () => out.token);
        if (!out.delegable && !f.json) {
          process.stderr.write(
            `note: no key held for ${f.to} and no --to-key: the new hop is terminal (cannot delegate further)\n`,
          );
        }
      }),
    );
}
