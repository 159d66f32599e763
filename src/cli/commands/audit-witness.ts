/**
 * `sigil audit` witness commands (docs/witness.md §CLI): the cosigned checkpoint, witness-policy checks
 * of bundles, the mesh collector, and operator recovery after a rollback.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import type { Command } from 'commander';
import { LedgerError } from '../../ledger/index.js';
import { listenHttp } from '../../lib/listen.js';
import { openAuditLog } from '../../serve/open-audit-log.js';
import { witnessDir, witnessK } from '../../serve/witness-options.js';
import { storedCosigned } from '../../witness/client-state.js';
import { collectorHandler } from '../../witness/collector-server.js';
import {
  type CollectSource,
  collect,
  cosignedBundle,
  loadOrCreateCosigner,
  parseWitnessPolicy,
  verifyCosigned,
  WitnessError,
  type WitnessPolicy,
  WitnessService,
} from '../../witness/index.js';
import { acceptRollback } from '../../witness/reset.js';
import { cliConfig, runCommand } from '../context.js';

function out(v: unknown): void {
  process.stdout.write(`${JSON.stringify(v)}\n`);
}

function readText(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    throw new WitnessError('WITNESS_IO', `cannot read ${file}`, e);
  }
}

/** Reads a c2sp.org/tlog-policy file. */
export function readWitnessPolicy(file: string): WitnessPolicy {
  return parseWitnessPolicy(readText(file));
}

/**
 * `sigil audit checkpoint --cosigned [--size N]`: the newest (or size N) cosigned checkpoint the witness
 * client stored, its cosigners checked against `sigil.audit.witnesses` and the k-of-n policy.
 */
export async function printCosigned(cmd: Command, size?: number): Promise<void> {
  const config = cliConfig(cmd);
  const cp = storedCosigned(join(witnessDir(config), 'client.json'), size);
  if (!cp)
    throw new LedgerError(
      'LEDGER_NOT_FOUND',
      `no cosigned checkpoint${size === undefined ? '' : ` of size ${size}`} stored`,
    );
  const log = await openAuditLog(config, {
    readOnly: true,
    checkpointIntervalSec: 0,
    compactionIntervalSec: 0,
  });
  try {
    const logKey = log.checkpoints.verifierKey;
    const witnesses = config.audit.witnesses.map((w) => w.key);
    const v = verifyCosigned(cp.note, { logKey, witnesses });
    const k = witnessK(config);
    out({
      size: cp.size,
      note: cp.note,
      verifier_key: logKey,
      cosigners: v.cosigners,
      policy: { k, n: witnesses.length, met: v.cosigners.length >= k },
    });
  } finally {
    await log.close();
  }
}

/** Registers the witness subcommands of `sigil audit`. */
export function registerWitnessCommands(audit: Command): void {
  audit
    .command('collect')
    .description(
      'ask several sidecars where task T was used, each answer proven to a witness-cosigned checkpoint',
    )
    .option('--task <id>', 'task_id (one answer, printed)')
    .option('--serve <addr>', 'instead: serve GET /collect?task=T on host:port (the dashboard Mesh view)')
    .option('--token-file <file>', 'with --serve: the Bearer token clients must send')
    .option('--allow-origin <origin...>', 'with --serve: browser origins allowed (CORS), e.g. the dashboard')
    .requiredOption(
      '--sources <file>',
      'JSON list of sidecars: [{"name", "url" (admin server), "log_key", "token_file"}]',
    )
    .requiredOption('--witness-policy <file>', 'c2sp.org/tlog-policy file: the witnesses and quorum trusted')
    .action(
      (flags: {
        task?: string;
        serve?: string;
        tokenFile?: string;
        allowOrigin?: string[];
        sources: string;
        witnessPolicy: string;
      }) =>
        runCommand(async () => {
          if ((flags.task === undefined) === (flags.serve === undefined))
            throw new WitnessError('WITNESS_BAD_REQUEST', 'give exactly one of --task and --serve');
          if (flags.serve !== undefined && flags.tokenFile === undefined)
            throw new WitnessError('WITNESS_BAD_REQUEST', '--serve needs --token-file');
          const policy = readWitnessPolicy(flags.witnessPolicy);
          let list: unknown;
          try {
            list = JSON.parse(readText(flags.sources));
          } catch (e) {
            throw new WitnessError(
              'WITNESS_BAD_REQUEST',
              `--sources ${flags.sources}: ${(e as Error).message}`,
            );
          }
          if (!Array.isArray(list) || list.length === 0)
            throw new WitnessError('WITNESS_BAD_REQUEST', '--sources must be a non-empty JSON array');
          const sources: CollectSource[] = list.map((s: Record<string, unknown>, i) => {
            for (const f of ['name', 'url', 'log_key', 'token_file'])
              if (typeof s[f] !== 'string')
                throw new WitnessError('WITNESS_BAD_REQUEST', `--sources [${i}].${f} must be a string`);
            return {
              name: s.name as string,
              url: s.url as string,
              logKey: s.log_key as string,
              token: readText(s.token_file as string).trim(),
            };
          });
          if (flags.serve !== undefined) {
            const token = readText(flags.tokenFile as string).trim();
            if (token.length < 16)
              throw new WitnessError(
                'WITNESS_BAD_REQUEST',
                '--token-file: the token must have ≥ 16 characters',
              );
            const server = createServer(
              collectorHandler({ sources, policy, token, allowOrigins: flags.allowOrigin ?? [] }),
            );
            const { url } = await listenHttp(server, flags.serve);
            out({ collector: url });
            await new Promise<void>((resolve) => {
              for (const sig of ['SIGINT', 'SIGTERM'] as const)
                process.once(sig, () => server.close(() => resolve()));
            });
            return;
          }
          const report = await collect({ task: flags.task as string, sources, policy });
          out(report);
          if (report.errors.length > 0) process.exitCode = 1;
        }),
    );

  audit
    .command('prove-cosigned <index>')
    .description(
      'tlog-proof bundle of entry <index> against the newest witness-cosigned checkpoint covering it',
    )
    .action((index: string, _flags: unknown, cmd: Command) =>
      runCommand(async () => {
        if (!/^(0|[1-9][0-9]{0,15})$/.test(index))
          throw new WitnessError('WITNESS_BAD_REQUEST', 'index must be an integer ≥ 0');
        const config = cliConfig(cmd);
        const cp = storedCosigned(join(witnessDir(config), 'client.json'), (s) => s > Number(index));
        if (!cp)
          throw new LedgerError('LEDGER_NOT_FOUND', `no cosigned checkpoint covers entry ${index} yet`);
        const log = await openAuditLog(config, {
          readOnly: true,
          checkpointIntervalSec: 0,
          compactionIntervalSec: 0,
        });
        try {
          process.stdout.write(await cosignedBundle(log, cp, Number(index)));
        } finally {
          await log.close();
        }
      }),
    );

  audit
    .command('witness-reset')
    .description('operator recovery after witnesses reported a rollback or fork (docs/witness.md §Recovery)')
    .option(
      '--accept-rollback',
      'let this sidecar serve although its witnesses cosigned a newer or other history',
    )
    .option('--reason <text>', 'why (recorded with the acceptance)')
    .option(
      '--forget-log <origin>',
      'as a witness: forget what was cosigned for <origin> (not next to a running serve)',
    )
    .option('--yes', 'confirm')
    .action(
      (
        flags: { acceptRollback?: boolean; reason?: string; forgetLog?: string; yes?: boolean },
        cmd: Command,
      ) =>
        runCommand(async () => {
          if (!flags.yes)
            throw new WitnessError('WITNESS_BAD_REQUEST', 'witness-reset changes what is trusted: add --yes');
          const config = cliConfig(cmd);
          const dir = witnessDir(config);
          if (flags.acceptRollback) {
            if (!flags.reason)
              throw new WitnessError('WITNESS_BAD_REQUEST', '--accept-rollback needs --reason');
            const log = await openAuditLog(config, {
              readOnly: true,
              checkpointIntervalSec: 0,
              compactionIntervalSec: 0,
            });
            const origin = log.checkpoints.verifierKey.split('+', 1)[0] as string;
            await log.close();
            acceptRollback(dir, origin, flags.reason);
            out({ accepted_rollback: origin, reason: flags.reason });
          } else if (flags.forgetLog) {
            if (config.witness.name === undefined)
              throw new WitnessError(
                'WITNESS_BAD_REQUEST',
                'sigil.witness.name is not set: this sidecar is no witness',
              );
            const service = new WitnessService({
              cosigner: loadOrCreateCosigner(join(dir, 'cosigner.jwk'), config.witness.name),
              logs: [],
              stateFile: join(dir, 'witnessed.json'),
            });
            out({ forgot: flags.forgetLog, was_known: service.forget(flags.forgetLog) });
          } else
            throw new WitnessError('WITNESS_BAD_REQUEST', 'give --accept-rollback or --forget-log <origin>');
        }),
    );
}

/** Checks a bundle's checkpoint against a witness policy file (`verify-bundle --witness-policy`). */
export function checkBundleWitnesses(bundle: string, logKey: string, policyFile: string) {
  const policy = readWitnessPolicy(policyFile);
  const note = bundle.slice(bundle.indexOf('\n\n') + 2);
  return verifyCosigned(note, { logKey, policy }).cosigners;
}
