/** `sigil keys init|rotate|list|jwks`: issuer signing keys and local agent keys in the data dir (docs/keys.md). */
import type { Command } from 'commander';
import { writeFileAtomic } from '../../lib/atomic-write.js';
import { isoTime, printResult, table, withLocal } from '../context.js';

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
      withLocal(cmd, ({ config, stores }) => {
        const signer = stores.keys.issuer.signer();
        const agents = [config.agent.spiffe_id, ...opts.agent].map((id) => stores.keys.agents.ensure(id));
        printResult(
          opts.json,
          {
            issuer_kid: signer.kid,
            agents: agents.map((a) => ({ spiffe_id: a.spiffeId, kid: a.kid, public_key: a.publicJwk })),
          },
          () =>
            [
              `issuer signing key  ${signer.kid}`,
              ...agents.map((a) => `agent key           ${a.kid}  ${a.spiffeId}`),
              `data dir            ${stores.keys.dir}`,
            ].join('\n'),
        );
      }),
    );

  keys
    .command('rotate')
    .description(
      'make a new issuer signing key now; previous keys stay in the JWKS until their tokens have expired',
    )
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }, cmd: Command) =>
      withLocal(cmd, async ({ stores }) => {
        const signer = await stores.keys.issuer.rotate();
        const all = stores.keys.issuer.keys();
        printResult(opts.json, { signing_kid: signer.kid, published: all.map((k) => k.kid) }, () =>
          [
            `new signing key ${signer.kid}`,
            ...all
              .filter((x) => !x.signing)
              .map((k) => `retired ${k.kid}, published until ${isoTime(k.publishUntil!, 'ms')}`),
          ].join('\n'),
        );
      }),
    );

  keys
    .command('jwks')
    .description(
      "print this issuer's published keys as a JWKS (a trust bundle for other sidecars' sigil.validator.trust_bundles)",
    )
    .option('--out <file>', 'write it to this file atomically instead of stdout')
    .action((opts: { out?: string }, cmd: Command) =>
      withLocal(cmd, ({ stores }) => {
        const text = `${JSON.stringify(stores.keys.issuer.jwks(), null, 2)}\n`;
        if (opts.out === undefined) process.stdout.write(text);
        else writeFileAtomic(opts.out, text, 0o644);
      }),
    );

  keys
    .command('list')
    .description('list issuer keys (signing / retired, publication window) and local agent keys')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }, cmd: Command) =>
      withLocal(cmd, ({ config, stores }) => {
        const issuer = stores.keys.issuer.keys();
        const agents = stores.keys.agents.all();
        const ms = (t: number) => isoTime(t, 'ms');
        const own = (id: string) => id === config.agent.spiffe_id;
        const json = {
          issuer: issuer.map((k) => ({
            kid: k.kid,
            created_at: ms(k.createdAt),
            status: k.signing ? 'signing' : 'retired',
            ...(k.retiredAt !== undefined ? { retired_at: ms(k.retiredAt) } : {}),
            ...(k.publishUntil !== undefined ? { publish_until: ms(k.publishUntil) } : {}),
          })),
          agents: agents.map((a) => ({
            spiffe_id: a.spiffeId,
            kid: a.kid,
            created_at: ms(a.createdAt),
            local_agent: own(a.spiffeId),
            public_key: a.publicJwk,
          })),
        };
        printResult(opts.json, json, () => {
          const issuerTable = table([
            ['KID', 'STATUS', 'CREATED', 'PUBLISHED UNTIL'],
            ...json.issuer.map((k) => [k.kid, k.status, k.created_at, k.publish_until ?? '-']),
          ]);
          const agentTable = table([
            ['SPIFFE ID', 'KID', 'CREATED'],
            ...json.agents.map((a) => [
              a.spiffe_id + (a.local_agent ? ' (this sidecar)' : ''),
              a.kid,
              a.created_at,
            ]),
          ]);
          const none = '  (none yet: `sigil keys init` or `sigil serve` creates one)';
          return `Issuer keys\n${issuer.length === 0 ? none : issuerTable}\n\nAgent keys\n${agents.length === 0 ? '  (none yet)' : agentTable}`;
        });
      }),
    );
}
