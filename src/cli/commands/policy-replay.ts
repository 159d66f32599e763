/**
 * `sigil policy replay`: what a candidate bundle would change, replayed over the recorded decisions of the
 * data dir's ledger (opened read-only) before the bundle is activated (docs/policy.md §13).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import type { Command } from 'commander';
import { requireTimeMs } from '../../lib/parse-time.js';
import {
  DecisionReplay,
  inputDependencies,
  loadBundle,
  PolicyError,
  type ReplayReport,
} from '../../policy/index.js';
import { openAuditLog } from '../../serve/open-audit-log.js';
import { cliConfig, runCommand } from '../context.js';
import { findOpa } from './policy.js';

/** Epoch ms, or an ISO 8601 date (src/lib/parse-time.ts). */
const time = (v: string, name: string): number =>
  requireTimeMs(v, name, (m) => new PolicyError('POLICY_REPLAY_FAILED', m));

/** `.rego` files of `paths` (files, or directories walked), keyed relative to their directory as `opa build .` names them. */
export function readRegoSources(paths: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of paths) {
    if (!statSync(p).isDirectory()) {
      out[basename(p)] = readFileSync(p, 'utf8');
      continue;
    }
    for (const f of readdirSync(p, { recursive: true, encoding: 'utf8' }).sort()) {
      if (f.endsWith('.rego') && statSync(join(p, f)).isFile())
        out[relative(p, join(p, f))] = readFileSync(join(p, f), 'utf8');
    }
  }
  return out;
}

/** The report as a few lines for a terminal. */
export function formatReplay(r: ReplayReport): string {
  const lines = [
    `candidate ${r.revision}: ${r.entries} ledger entries, ${r.replayed} decisions replayed exactly`,
    `  allow -> deny: ${r.flips.allow_to_deny}   deny -> allow: ${r.flips.deny_to_allow}   unchanged: ${r.unchanged}`,
    `  not replayable: ${r.not_replayable.count}${r.not_replayable.reason ? ` (${r.not_replayable.reason})` : ''}`,
    `  candidate failed: ${r.unevaluable.count}${Object.keys(r.unevaluable.by_code).length ? ` ${JSON.stringify(r.unevaluable.by_code)}` : ''}`,
    `  decided before the policy step: ${r.before_policy}; aggregated unauthenticated denies: ${r.aggregated.denies} in ${r.aggregated.entries} entries; not records: ${r.opaque}`,
  ];
  const table = (title: string, m: Record<string, { allow_to_deny: number; deny_to_allow: number }>) => {
    const keys = Object.keys(m).sort();
    if (keys.length === 0) return;
    lines.push(`${title}:`);
    for (const k of keys)
      lines.push(`  ${k}  allow->deny ${m[k]!.allow_to_deny}  deny->allow ${m[k]!.deny_to_allow}`);
  };
  table('by agent', r.by_agent);
  table('by tool', r.by_tool);
  if (r.samples.length > 0) lines.push('samples:');
  for (const s of r.samples)
    lines.push(
      `  #${s.index} ${new Date(s.ts).toISOString()} ${s.sub ?? '-'} ${s.tool ?? '-'} ${s.method ?? ''} ${s.path ?? ''}: ${s.was} -> ${s.now} (${s.now_code})`,
    );
  return `${lines.join('\n')}\n`;
}

/** Registers `sigil policy replay` under the `policy` command. */
export function registerReplay(policy: Command): void {
  policy
    .command('replay')
    .description(
      'replay recorded decisions (ledger, read-only) under a candidate bundle and report what would flip',
    )
    .requiredOption('--bundle <file>', 'candidate bundle (sigil policy build)')
    .option('--since <time>', 'decisions at or after (epoch ms or ISO date)')
    .option('--until <time>', 'decisions at or before (epoch ms or ISO date)')
    .option('--data-dir <dir>', 'data directory holding the ledger (default: --data / sigil.data_dir)')
    .option('-e, --entrypoint <path>', 'decision path (default: sigil.policy.entrypoint)')
    .option(
      '--source <path...>',
      'the Rego the bundle was built from (file or directory; default: the sources in the bundle), to tell which input fields it reads',
    )
    .option('--samples <n>', 'sample entries per list', '20')
    .option('--json', 'print the report as JSON')
    .action(
      (
        flags: {
          bundle: string;
          since?: string;
          until?: string;
          dataDir?: string;
          entrypoint?: string;
          source?: string[];
          samples: string;
          json?: boolean;
        },
        cmd: Command,
      ) =>
        runCommand(async () => {
          const config = cliConfig(cmd, flags.dataDir !== undefined ? { data_dir: flags.dataDir } : {});
          const since = flags.since !== undefined ? time(flags.since, '--since') : 0;
          const until = flags.until !== undefined ? time(flags.until, '--until') : Number.MAX_SAFE_INTEGER;
          if (!/^[0-9]{1,4}$/.test(flags.samples))
            throw new PolicyError('POLICY_REPLAY_FAILED', '--samples must be an integer 0–9999');
          let bytes: Buffer;
          try {
            bytes = readFileSync(flags.bundle);
          } catch (e) {
            throw new PolicyError(
              'POLICY_BUNDLE_UNAVAILABLE',
              `bundle file ${flags.bundle}: ${(e as Error).message}`,
            );
          }
          const entrypoint = flags.entrypoint ?? config.policy.entrypoint;
          const bundle = await loadBundle(bytes, { entrypoint });
          const replay = new DecisionReplay(bundle, {
            dependencies: await inputDependencies(
              bytes,
              bundle.entrypoint,
              findOpa(),
              flags.source ? readRegoSources(flags.source) : undefined,
            ),
            samples: Number(flags.samples),
            timeoutMs: config.policy.eval_timeout_ms,
          });
          const log = await openAuditLog(config, { readOnly: true, checkpointIntervalSec: 0 });
          try {
            replay.scan(log, since, until);
          } finally {
            await log.close();
          }
          const report = replay.report();
          process.stdout.write(flags.json ? `${JSON.stringify(report)}\n` : formatReplay(report));
        }),
    );
}
