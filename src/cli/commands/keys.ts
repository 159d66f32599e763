/** `sigil keys init|rotate|list|jwks`: issuer signing keys and local agent keys in the data dir (docs/keys.md). */
import type { Command } from 'commander';
import { writeFileAtomic } from '../../lib/atomic-write.js';
import { runCommand } from '../context.js';
import { isoTime, printJson, table, withLocal } from './token-shared.js';

/** Registers `sigil keys`. */
export function register(program: Command): void {
  const keys = program
    .command('keys')
    .description('manage issuer signing keys and local agent keys in the data dir');

  keys
    .command('init')
    .description(
      "create the issuer signing key and this sidecar's agent key if missing (and keys for extra local SPIFFE IDs)",
    )
    .option(
      '--agent <spiffe>',
      'also hold a key for this local SPIFFE ID (dev/demo: simulate a chain on one machine); repeatable',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--json', 'print JSON')
    .action((opts: { agent: string[]; json?: boolean }, cmd: Command) =>
      runCommand(() =>
        withLocal(cmd, ({ config, stores }) => {
          const signer = stores.keys.issuer.signer();
          const agents = [config.agent.spiffe_id, ...opts.agent].map((id) => stores.keys.agents.ensure(id));
          if (opts.json) {
            printJson({
              issuer_kid: signer.kid,
              agents: agents.map((a) => ({ spiffe_id: a.spiffeId, kid: a.kid, public_key: a.publicJwk })),
            });
            return;
          }
          process.stdout.write(`issuer signing key  ${signer.kid}\n`);
          for (const a of agents) process.stdout.write(`agent key           ${a.kid}  ${a.spiffeId}\n`);
          process.stdout.write(`data dir            ${stores.keys.dir}\n`);
        }),
      ),
    );

  keys
    .command('rotate')
    .description(
      'make a new issuer signing key now; previous keys stay in the JWKS until their tokens have expired',
    )
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }, cmd: Command) =>
      runCommand(() =>
        withLocal(cmd, async ({ stores }) => {
          const signer = await stores.keys.issuer.rotate();
          const all = stores.keys.issuer.keys();
          if (opts.json) {
            printJson({ signing_kid: signer.kid, published: all.map((k) => k.kid) });
            return;
          }
          process.stdout.write(`new signing key ${signer.kid}\n`);
          for (const k of all.filter((x) => !x.signing)) {
            process.stdout.write(`retired ${k.kid}, published until ${isoTime(k.publishUntil!, 'ms')}\n`);
          }
        }),
      ),
    );

  keys
    .command('jwks')
    .description(
      "print this issuer's published keys as a JWKS (a trust bundle for other sidecars' sigil.validator.trust_bundle)",
    )
    .option('--out <file>', 'write it to this file atomically instead of stdout')
    .action((opts: { out?: string }, cmd: Command) =>
      runCommand(() =>
        withLocal(cmd, ({ stores }) => {
          const text = `${JSON.stringify(stores.keys.issuer.jwks(), null, 2)}\n`;
          if (opts.out === undefined) process.stdout.write(text);
          else writeFileAtomic(opts.out, text, 0o644);
        }),
      ),
    );

  keys
    .command('list')
    .description('list issuer keys (signing / retired, publication window) and local agent keys')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }, cmd: Command) =>
      runCommand(() =>
        withLocal(cmd, ({ config, stores }) => {
          const issuer = stores.keys.issuer.keys();
          const agents = stores.keys.agents.all();
          if (opts.json) {
            printJson({
              issuer: issuer.map((k) => ({
                kid: k.kid,
                created_at: isoTime(k.createdAt, 'ms'),
                status: k.signing ? 'signing' : 'retired',
                ...(k.retiredAt !== undefined ? { retired_at: isoTime(k.retiredAt, 'ms') } : {}),
                ...(k.publishUntil !== undefined ? { publish_until: isoTime(k.publishUntil, 'ms') } : {}),
              })),
              agents: agents.map((a) => ({
                spiffe_id: a.spiffeId,
                kid: a.kid,
                created_at: isoTime(a.createdAt, 'ms'),
                local_agent: a.spiffeId === config.agent.spiffe_id,
                public_key: a.publicJwk,
              })),
            });
            return;
          }
          process.stdout.write('Issuer keys\n');
          process.stdout.write(
            `${
              issuer.length === 0
                ? '  (none yet: `sigil keys init` or `sigil serve` creates one)'
                : table([
                    ['KID', 'STATUS', 'CREATED', 'PUBLISHED UNTIL'],
                    ...issuer.map((k) => [
                      k.kid,
                      k.signing ? 'signing' : 'retired',
                      isoTime(k.createdAt, 'ms'),
                      k.publishUntil === undefined ? '-' : isoTime(k.publishUntil, 'ms'),
                    ]),
                  ])
            }\n\nAgent keys\n`,
          );
          process.stdout.write(
            `${
              agents.length === 0
                ? '  (none yet)'
                : table([
                    ['SPIFFE ID', 'KID', 'CREATED'],
                    ...agents.map((a) => [
                      a.spiffeId + (a.spiffeId === config.agent.spiffe_id ? ' (this sidecar)' : ''),
                      a.kid,
                      isoTime(a.createdAt, 'ms'),
                    ]),
                  ])
            }\n`,
          );
        }),
      ),
    );
}
