/**
 * `sigil audit`: inspect and verify the Merkle audit log (docs/ledger.md §CLI). Output is JSON (one
 * object, or JSON lines for query/tail); failures print `CODE: message` on stderr and exit non-zero.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  b64encode,
  decodeEntry,
  hex,
  LedgerError,
  type MerkleLog,
  type MerkleLogOptions,
  verifyProofBundle,
} from '../../ledger/index.js';
import { verifyLog } from '../../ledger/verify-log.js';
import { requireTimeMs } from '../../lib/parse-time.js';
import { holdLedgerWriter } from '../../serve/ledger-writer.js';
import { openAuditLog } from '../../serve/open-audit-log.js';
import { cliConfig, migrationProgress, runCommand } from '../context.js';
import { checkBundleWitnesses, printCosigned, registerWitnessCommands } from './audit-witness.js';

/** A decimal integer argument ≥ `min`. Parsed inside runCommand, so a bad one exits with its code. */
function int(v: string, name: string, min = 0): number {
  if (!/^(0|[1-9][0-9]{0,15})$/.test(v) || Number(v) < min) {
    throw new LedgerError('LEDGER_BAD_ARGUMENT', `${name} must be an integer ≥ ${min}`);
  }
  return Number(v);
}

/** Epoch ms, or an ISO 8601 date (src/lib/parse-time.ts). */
const time = (v: string, name: string): number =>
  requireTimeMs(v, name, (m) => new LedgerError('LEDGER_BAD_ARGUMENT', m));

function out(v: unknown): void {
  process.stdout.write(`${JSON.stringify(v)}\n`);
}

/**
 * What the entries of a log stand for (`audit verify`'s `records`): plain decision records, aggregates of
 * unauthenticated denies and dropped tallies with the denies they count, lifecycle entries by kind, and
 * entries that are no record.
 */
function recordTally() {
  const t = {
    decisions: 0,
    aggregates: 0,
    aggregated_denies: 0,
    dropped: 0,
    dropped_denies: 0,
    lifecycle: {} as Record<string, number>,
    opaque: 0,
  };
  const add = (_i: number, bytes: Uint8Array) => {
    let r: ReturnType<typeof decodeEntry>;
    try {
      r = decodeEntry(bytes);
    } catch {
      t.opaque++;
      return;
    }
    if (r.kind === 'aggregate') {
      t.aggregates++;
      t.aggregated_denies += r.count ?? 0;
    } else if (r.kind === 'dropped') {
      t.dropped++;
      t.dropped_denies += r.count ?? 0;
    } else if (r.kind === undefined) t.decisions++;
    else t.lifecycle[r.kind] = (t.lifecycle[r.kind] ?? 0) + 1;
  };
  return { t, add };
}

interface QueryFlags {
  kind?: string;
  task?: string;
  agent?: string;
  decision?: string;
  since?: string;
  until?: string;
  limit?: string;
  desc?: boolean;
  prove?: boolean;
}

/** Inclusion proof of entry `index` against the tree of `size` entries (RFC 6962 §2.1.1), base64. */
function inclusion(log: MerkleLog, index: number, size: number, root = log.root(size)) {
  return {
    size,
    root: b64encode(root),
    leaf_hash: b64encode(log.leafHashAt(index)),
    hashes: log.inclusionProof(index, size).map(b64encode),
  };
}

/**
 * Runs `body` in {@link runCommand} with the data dir's audit log open (read-only unless `opts` says
 * otherwise), so a failure prints `CODE: message` and sets the exit code.
 */
function withLog(
  cmd: Command,
  body: (log: MerkleLog) => Promise<void> | void,
  opts: MerkleLogOptions = { readOnly: true },
): Promise<void> {
  return runCommand(async () => {
    const log = await openAuditLog(cliConfig(cmd), {
      checkpointIntervalSec: 0,
      compactionIntervalSec: 0,
      ...opts,
    });
    try {
      await body(log);
    } finally {
      await log.close();
    }
  });
}

/** A progress line of `audit verify`: entries done, share, rate and time left at that rate. */
export function verifyProgress(done: number, total: number, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? Math.round((done / elapsedMs) * 1000) : 0;
  const left = rate > 0 ? Math.ceil((total - done) / rate) : undefined;
  const pct = Math.floor((done / Math.max(1, total)) * 100);
  return `verify: ${done}/${total} entries (${pct}%), ${rate} entries/s${left !== undefined && done < total ? `, ~${left} s left` : ''}`;
}

/** Registers `sigil audit …`. */
export function register(program: Command): void {
  const audit = program
    .command('audit')
    .description('the tamper-evident audit log: verify, query, proofs, checkpoints');

  audit
    .command('verify')
    .description(
      'recompute the whole tree and check stored hashes, checkpoints and their consistency (exit 1 on any problem)',
    )
    .option('--key <vkey>', "verifier key for checkpoints (default: this data dir's checkpoint key)")
    .option(
      '--archive <dir>',
      'the tlog-tiles archive to verify with the log (default: sigil.audit.archive_dir)',
    )
    .action((flags: { key?: string; archive?: string }, cmd: Command) =>
      withLog(
        cmd,
        (log) => {
          const started = Date.now();
          const records = recordTally();
          const report = verifyLog(log, {
            ...(flags.key ? { verifierKey: flags.key } : {}),
            onEntry: records.add,
            onProgress: (done, total) => {
              if (total >= 100_000)
                process.stderr.write(`${verifyProgress(done, total, Date.now() - started)}\n`);
            },
          });
          const seconds = (Date.now() - started) / 1000;
          out({
            ...report,
            records: records.t,
            seconds,
            entries_per_second: Math.round(report.entries / Math.max(seconds, 0.001)),
          });
          if (!report.ok) {
            throw new LedgerError(
              'LEDGER_CORRUPT',
              `ledger verification failed at index ${report.firstBadIndex ?? '?'}: ${report.problems[0]?.message ?? ''}`,
            );
          }
        },
        { forVerify: true, ...(flags.archive !== undefined ? { archiveDir: flags.archive } : {}) },
      ),
    );

  audit
    .command('query')
    .description('records (decisions and lifecycle entries) matching all given filters, as JSON lines')
    .option(
      '--kind <kind>',
      'entry kind: decision, aggregate, dropped, token.mint, token.delegate, token.revoke, key.create, key.rotate, key.retire, trust.update, policy.activate, sidecar.start, sidecar.stop',
    )
    .option('--task <id>', 'task_id')
    .option('--agent <spiffe>', 'leaf sub or any sub in the recorded chain')
    .option('--decision <allow|deny>', 'decision')
    .option('--since <time>', 'ts ≥ (epoch ms or ISO date)')
    .option('--until <time>', 'ts ≤ (epoch ms or ISO date)')
    .option('--limit <n>', 'maximum results (default 100)')
    .option('--desc', 'newest first')
    .option('--prove', 'attach an inclusion proof (against the current size) to each result')
    .action((flags: QueryFlags, cmd: Command) =>
      runCommand(async () => {
        const { decision } = flags;
        if (decision !== undefined && decision !== 'allow' && decision !== 'deny') {
          throw new LedgerError('LEDGER_BAD_ARGUMENT', '--decision must be allow or deny');
        }
        await withLog(cmd, (log) => {
          const size = log.size;
          const root = log.root(size);
          const hits = log.queryEntries({
            ...(flags.kind !== undefined ? { kind: flags.kind } : {}),
            ...(flags.task !== undefined ? { task: flags.task } : {}),
            ...(flags.agent !== undefined ? { agent: flags.agent } : {}),
            ...(decision !== undefined ? { decision } : {}),
            ...(flags.since !== undefined ? { since: time(flags.since, '--since') } : {}),
            ...(flags.until !== undefined ? { until: time(flags.until, '--until') } : {}),
            ...(flags.limit !== undefined ? { limit: int(flags.limit, '--limit', 1) } : {}),
            order: flags.desc ? 'desc' : 'asc',
          });
          for (const h of hits) {
            out({
              index: h.index,
              record: h.record,
              ...(flags.prove ? { proof: inclusion(log, h.index, size, root) } : {}),
            });
          }
        });
      }),
    );

  audit
    .command('root')
    .description('tree size and RFC 6962 root (of the whole log, or of its first --size entries)')
    .option('--size <n>', 'a past size')
    .action((flags: { size?: string }, cmd: Command) =>
      withLog(cmd, (log) => {
        const size = flags.size !== undefined ? int(flags.size, '--size') : log.size;
        const root = log.root(size);
        out({ size, root: b64encode(root), root_hex: hex(root) });
      }),
    );

  audit
    .command('prove <index>')
    .description(
      'inclusion proof of one entry (JSON), or with --bundle an offline c2sp.org/tlog-proof@v1 bundle',
    )
    .option(
      '--size <n>',
      'tree size to prove against (default: current); with --bundle, the size of a stored checkpoint or the current size',
    )
    .option('--bundle', 'print a signed, self-contained tlog-proof (makes a checkpoint if needed)')
    .action((index: string, flags: { size?: string; bundle?: boolean }, cmd: Command) =>
      runCommand(async () => {
        const i = int(index, 'index');
        const size = flags.size !== undefined ? int(flags.size, '--size', 1) : undefined;
        if (flags.bundle) {
          await withLog(
            cmd,
            async (log) => {
              process.stdout.write(await log.checkpoints.bundle(i, size));
            },
            {},
          );
          return;
        }
        await withLog(cmd, (log) => {
          out({
            index: i,
            ...inclusion(log, i, size ?? log.size),
          });
        });
      }),
    );

  audit
    .command('verify-bundle <file>')
    .description('verify an offline tlog-proof bundle with only a verifier key')
    .requiredOption('--key <vkey>', "the log's verifier key <name>+<id>+<key>")
    .option('--witness-policy <file>', 'also require witness cosignatures per this c2sp.org/tlog-policy file')
    .action((file: string, flags: { key: string; witnessPolicy?: string }) =>
      runCommand(() => {
        let text: string;
        try {
          text = readFileSync(file === '-' ? 0 : file, 'utf8');
        } catch (e) {
          throw new LedgerError('LEDGER_IO', `cannot read ${file}`, e);
        }
        const v = verifyProofBundle(text, flags.key);
        const cosigners = flags.witnessPolicy
          ? checkBundleWitnesses(text, flags.key, flags.witnessPolicy)
          : undefined;
        out({
          ...(cosigners ? { cosigners } : {}),
          ok: true,
          origin: v.origin,
          index: v.index,
          size: v.size,
          root: b64encode(v.root),
          entry: new TextDecoder().decode(v.entry),
        });
      }),
    );

  audit
    .command('consistency <m> <n>')
    .description('RFC 6962 consistency proof between tree sizes m ≤ n')
    .action((m: string, n: string, _flags: unknown, cmd: Command) =>
      withLog(cmd, (log) => {
        const s1 = int(m, 'm');
        const s2 = int(n, 'n');
        out({
          size1: s1,
          size2: s2,
          root1: b64encode(log.root(Math.min(s1, log.size))),
          root2: b64encode(log.root(s2)),
          hashes: log.consistencyProof(s1, s2).map(b64encode),
        });
      }),
    );

  audit
    .command('checkpoint')
    .description(
      'sign and store a checkpoint of the current size; prints the signed note and the verifier key',
    )
    .option('--latest', 'print the newest stored checkpoint instead of making one')
    .option('--cosigned', 'print the newest witness-cosigned checkpoint (docs/witness.md)')
    .action((flags: { latest?: boolean; cosigned?: boolean }, cmd: Command) =>
      flags.cosigned
        ? runCommand(() => printCosigned(cmd))
        : withLog(
            cmd,
            async (log) => {
              const cps = log.checkpoints;
              const cp = flags.latest ? cps.latest() : await cps.make();
              if (!cp) throw new LedgerError('LEDGER_NOT_FOUND', 'no checkpoint stored yet');
              out({ size: cp.size, root: b64encode(cp.root), note: cp.note, verifier_key: cps.verifierKey });
            },
            // Making one writes (and takes the writer lock); reading the newest does not.
            flags.latest ? { readOnly: true } : {},
          ),
    );

  registerWitnessCommands(audit);

  audit
    .command('compact')
    .description(
      'export sealed ranges older than sigil.audit.retention to the archive as C2SP tlog-tiles, then prune their local bodies (not next to a running sigil serve)',
    )
    .action((_flags: unknown, cmd: Command) =>
      runCommand(async () => {
        const config = cliConfig(cmd);
        if (config.audit.retention === undefined) {
          throw new LedgerError(
            'LEDGER_BAD_ARGUMENT',
            'sigil.audit.retention is not set: entries are kept forever',
          );
        }
        await withLog(cmd, async (log) => out(await log.compact()), {});
      }),
    );

  audit
    .command('migrate')
    .description(
      'move a format-3 ledger (uint32 keys) to format 4 in place, as the first sigil serve of this version does; prints the format, size and root before and after (not next to a running sigil serve)',
    )
    .action((_flags: unknown, cmd: Command) =>
      runCommand(async () => {
        const config = cliConfig(cmd);
        const quiet = { checkpointIntervalSec: 0, compactionIntervalSec: 0 };
        const before = await openAuditLog(config, { ...quiet, readOnly: true });
        const was = { format: before.format, size: before.size, root: b64encode(before.root()) };
        await before.close();
        if (was.format === 4) return out({ format_before: 4, migrated: false, ...was });
        // The migration writes: only as the one writer (docs/ledger.md §4 "One sequencer").
        const lock = await holdLedgerWriter(config, () => undefined);
        try {
          const log = await openAuditLog(config, { ...quiet, onMigration: migrationProgress() }, 'held');
          const now = { format: log.format, size: log.size, root: b64encode(log.root()) };
          await log.close();
          if (now.root !== was.root || now.size !== was.size) {
            throw new LedgerError(
              'LEDGER_CORRUPT',
              `the migrated log differs: size ${now.size}, root ${now.root}`,
            );
          }
          out({
            format_before: was.format,
            format: now.format,
            migrated: true,
            size: now.size,
            root: now.root,
          });
        } finally {
          await lock.release();
        }
      }),
    );

  audit
    .command('tail')
    .description('the newest records (decisions and lifecycle entries), newest first, as JSON lines')
    .option('-n, --lines <n>', 'how many', '10')
    .action((flags: { lines: string }, cmd: Command) =>
      withLog(cmd, (log) => {
        const hits = log.queryEntries({ limit: int(flags.lines, '-n', 1), order: 'desc' });
        for (const h of hits) out({ index: h.index, record: h.record });
      }),
    );
}
