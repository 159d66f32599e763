/**
 * `sigil audit`: inspect and verify the Merkle audit log (docs/ledger.md §CLI). Output is JSON (one
 * object, or JSON lines for query/tail); failures print `CODE: message` on stderr and exit non-zero.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { b64encode, hex, LedgerError, type MerkleLog, verifyProofBundle } from '../../ledger/index.js';
import { verifyLog } from '../../ledger/verify-log.js';
import { openAuditLog } from '../../serve/open-audit-log.js';
import { cliConfig, runCommand } from '../context.js';

function int(name: string, min = 0): (v: string) => number {
  return (v: string) => {
    if (!/^(0|[1-9][0-9]{0,15})$/.test(v) || Number(v) < min) {
      throw new LedgerError('LEDGER_BAD_ARGUMENT', `${name} must be an integer ≥ ${min}`);
    }
    return Number(v);
  };
}

/** Epoch ms, or an ISO-8601 date. */
function time(name: string): (v: string) => number {
  return (v: string) => {
    const n = /^[0-9]{1,16}$/.test(v) ? Number(v) : Date.parse(v);
    if (!Number.isSafeInteger(n) || n < 0)
      throw new LedgerError('LEDGER_BAD_ARGUMENT', `${name} must be epoch ms or an ISO date`);
    return n;
  };
}

function out(v: unknown): void {
  process.stdout.write(`${JSON.stringify(v)}\n`);
}

async function withLog<T>(
  cmd: Command,
  body: (log: MerkleLog) => Promise<T> | T,
  opts: { readOnly?: boolean; forVerify?: boolean } = {},
): Promise<T> {
  const log = await openAuditLog(cliConfig(cmd), { checkpointIntervalSec: 0, ...opts });
  try {
    return await body(log);
  } finally {
    await log.close();
  }
}

/** Parses a CLI argument with a validator inside runCommand (so errors get their code). */
function arg<T>(v: string, f: (v: string) => T): T {
  return f(v);
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
    .action(async (flags: { key?: string }, cmd: Command) => {
      await runCommand(async () => {
        await withLog(
          cmd,
          (log) => {
            const started = Date.now();
            const report = verifyLog(log, {
              ...(flags.key ? { verifierKey: flags.key } : {}),
              onProgress: (done, total) => {
                if (total >= 100_000)
                  process.stderr.write(
                    `verify: ${done}/${total} entries (${Math.round((done / Math.max(1, total)) * 100)}%)\n`,
                  );
              },
            });
            const secs = (Date.now() - started) / 1000;
            out({ ...report, seconds: secs });
            if (!report.ok) {
              throw new LedgerError(
                'LEDGER_CORRUPT',
                `ledger verification failed at index ${report.firstBadIndex ?? '?'}: ${report.problems[0]?.message ?? ''}`,
              );
            }
          },
          { forVerify: true },
        );
      });
    });

  audit
    .command('query')
    .description('decision records matching all given filters, as JSON lines')
    .option('--task <id>', 'task_id')
    .option('--agent <spiffe>', 'leaf sub or any sub in the recorded chain')
    .option('--decision <allow|deny>', 'decision')
    .option('--since <time>', 'ts ≥ (epoch ms or ISO date)')
    .option('--until <time>', 'ts ≤ (epoch ms or ISO date)')
    .option('--limit <n>', 'maximum results (default 100)')
    .option('--desc', 'newest first')
    .option('--prove', 'attach an inclusion proof (against the current size) to each result')
    .action(async (flags: Record<string, string | boolean | undefined>, cmd: Command) => {
      await runCommand(async () => {
        const decision = flags.decision as string | undefined;
        if (decision !== undefined && decision !== 'allow' && decision !== 'deny') {
          throw new LedgerError('LEDGER_BAD_ARGUMENT', '--decision must be allow or deny');
        }
        await withLog(
          cmd,
          (log) => {
            const size = log.size;
            const root = log.root(size);
            const hits = log.query({
              ...(flags.task !== undefined ? { task: String(flags.task) } : {}),
              ...(flags.agent !== undefined ? { agent: String(flags.agent) } : {}),
              ...(decision !== undefined ? { decision } : {}),
              ...(flags.since !== undefined ? { since: arg(String(flags.since), time('--since')) } : {}),
              ...(flags.until !== undefined ? { until: arg(String(flags.until), time('--until')) } : {}),
              ...(flags.limit !== undefined ? { limit: arg(String(flags.limit), int('--limit', 1)) } : {}),
              order: flags.desc ? 'desc' : 'asc',
            });
            for (const h of hits) {
              out({
                index: h.index,
                record: h.record,
                ...(flags.prove
                  ? {
                      proof: {
                        size,
                        root: b64encode(root),
                        leaf_hash: b64encode(log.leafHashAt(h.index)),
                        hashes: log.inclusionProof(h.index, size).map(b64encode),
                      },
                    }
                  : {}),
              });
            }
          },
          { readOnly: true },
        );
      });
    });

  audit
    .command('root')
    .description('tree size and RFC 6962 root (of the whole log, or of its first --size entries)')
    .option('--size <n>', 'a past size')
    .action(async (flags: { size?: string }, cmd: Command) => {
      await runCommand(() =>
        withLog(
          cmd,
          (log) => {
            const size = flags.size !== undefined ? arg(flags.size, int('--size')) : log.size;
            const root = log.root(size);
            out({ size, root: b64encode(root), root_hex: hex(root) });
          },
          { readOnly: true },
        ),
      );
    });

  audit
    .command('prove <index>')
    .description(
      'inclusion proof of one entry (JSON), or with --bundle an offline c2sp.org/tlog-proof@v1 bundle',
    )
    .option('--size <n>', 'tree size to prove against (default: current)')
    .option('--bundle', 'print a signed, self-contained tlog-proof (makes a checkpoint if needed)')
    .action(async (index: string, flags: { size?: string; bundle?: boolean }, cmd: Command) => {
      await runCommand(async () => {
        const i = arg(index, int('index'));
        if (flags.bundle) {
          await withLog(cmd, async (log) => {
            process.stdout.write(await log.checkpoints.bundle(i));
          });
          return;
        }
        await withLog(
          cmd,
          (log) => {
            const size = flags.size !== undefined ? arg(flags.size, int('--size')) : log.size;
            out({
              index: i,
              size,
              root: b64encode(log.root(size)),
              leaf_hash: b64encode(log.leafHashAt(i)),
              hashes: log.inclusionProof(i, size).map(b64encode),
            });
          },
          { readOnly: true },
        );
      });
    });

  audit
    .command('verify-bundle <file>')
    .description('verify an offline tlog-proof bundle with only a verifier key')
    .requiredOption('--key <vkey>', "the log's verifier key <name>+<id>+<key>")
    .action(async (file: string, flags: { key: string }) => {
      await runCommand(() => {
        let text: string;
        try {
          text = readFileSync(file === '-' ? 0 : file, 'utf8');
        } catch (e) {
          throw new LedgerError('LEDGER_IO', `cannot read ${file}`, e);
        }
        const v = verifyProofBundle(text, flags.key);
        out({
          ok: true,
          origin: v.origin,
          index: v.index,
          size: v.size,
          root: b64encode(v.root),
          entry: new TextDecoder().decode(v.entry),
        });
      });
    });

  audit
    .command('consistency <m> <n>')
    .description('RFC 6962 consistency proof between tree sizes m ≤ n')
    .action(async (m: string, n: string, _flags: unknown, cmd: Command) => {
      await runCommand(() =>
        withLog(
          cmd,
          (log) => {
            const s1 = arg(m, int('m'));
            const s2 = arg(n, int('n'));
            out({
              size1: s1,
              size2: s2,
              root1: b64encode(log.root(Math.min(s1, log.size))),
              root2: b64encode(log.root(s2)),
              hashes: log.consistencyProof(s1, s2).map(b64encode),
            });
          },
          { readOnly: true },
        ),
      );
    });

  audit
    .command('checkpoint')
    .description(
      'sign and store a checkpoint of the current size; prints the signed note and the verifier key',
    )
    .option('--latest', 'print the newest stored checkpoint instead of making one')
    .action(async (flags: { latest?: boolean }, cmd: Command) => {
      await runCommand(() =>
        withLog(cmd, async (log) => {
          const cps = log.checkpoints;
          const cp = flags.latest ? cps.latest() : await cps.make();
          if (!cp) throw new LedgerError('LEDGER_NOT_FOUND', 'no checkpoint stored yet');
          out({ size: cp.size, root: b64encode(cp.root), note: cp.note, verifier_key: cps.verifierKey });
        }),
      );
    });

  audit
    .command('tail')
    .description('the newest decision records, newest first, as JSON lines')
    .option('-n, --lines <n>', 'how many', '10')
    .action(async (flags: { lines: string }, cmd: Command) => {
      await runCommand(() =>
        withLog(
          cmd,
          (log) => {
            for (const h of log.tail(arg(flags.lines, int('-n', 1))))
              out({ index: h.index, record: h.record });
          },
          { readOnly: true },
        ),
      );
    });
}
