/**
 * `sigil mint`: mints a root TBIT with this data dir's issuer key. Runs locally: whoever can read the
 * data dir is the operator (the network Mint route needs the operator credential instead).
 */
import type { Command } from 'commander';
import { LOCAL_OPERATOR } from '../../issuer/index.js';
import { parseAud, parseJwkArg, parseList, positiveInt, printResult, withLocal } from '../context.js';

interface MintFlags {
  sub: string;
  task: string;
  tools: string;
  ttl?: string;
  aud?: string;
  holderKey?: string;
  jti?: string;
  dmax?: string;
  json?: boolean;
}

/** Registers `sigil mint`. */
export function register(program: Command): void {
  program
    .command('mint')
    .description('mint a root task-bound identity token (prints the token)')
    .requiredOption('--sub <spiffe>', "holder's SPIFFE ID, e.g. spiffe://sigil.mesh/agent/planner/1")
    .requiredOption('--task <id>', 'task id the token is bound to')
    .requiredOption('--tools <list>', 'comma-separated tool scope, e.g. fs.read,search.*')
    .option('--ttl <seconds>', 'lifetime (default and maximum: sigil.issuer.max_ttl)')
    .option(
      '--aud <spiffe,...>',
      'audience SPIFFE ID(s) (default: the trust domain, i.e. any workload in it)',
    )
    .option(
      '--holder-key <jwk>',
      'holder Ed25519 public JWK (JSON or @file) for cnf; default: the key held here for --sub, else none',
    )
    .option('--jti <id>', 'explicit token id (default: random)')
    .option('--dmax <n>', 'maximum chain depth (default: sigil.validator.max_chain_depth)')
    .option('--json', 'print the full result as JSON instead of the bare token')
    .action((f: MintFlags, cmd: Command) =>
      withLocal(cmd, ({ service }) => {
        const out = service.mint(
          {
            sub: f.sub,
            task_id: f.task,
            tool_scope: parseList(f.tools),
            ...(f.ttl !== undefined ? { ttl: positiveInt(f.ttl, '--ttl') } : {}),
            ...(f.aud !== undefined ? { aud: parseAud(f.aud) } : {}),
            ...(f.holderKey !== undefined ? { holder_key: parseJwkArg(f.holderKey, '--holder-key') } : {}),
            ...(f.jti !== undefined ? { jti: f.jti } : {}),
            ...(f.dmax !== undefined ? { dmax: positiveInt(f.dmax, '--dmax') } : {}),
          },
          LOCAL_OPERATOR,
        );
        printResult(f.json, out, () => out.token);
        if (!out.delegable && !f.json) {
          process.stderr.write(
            'note: no holder key for this subject: the token carries no cnf and cannot be delegated\n',
          );
        }
      }),
    );
}
