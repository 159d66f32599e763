/**
 * `sigil audit verify` at scale (`npm run bench:verify`, issue #20, docs/ledger.md §6, §10): writes a log of
 * `--n` decision records (default 10 000 000; ~830 B each on disk, so ~8.3 GB: check `df` first), then runs
 * the real CLI, `sigil audit verify`, on it and records its progress lines (stderr) and its report: wall
 * time, entries/s, RSS. The data dir is deleted at the end. `--no-write` leaves BENCHMARKS.md alone.
 * Not part of any test suite: run it alone, once.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { encodeRecord, MerkleLog } from '../src/ledger/index.js';
import { writeBenchmarksSection } from './lib/benchmarks-md.js';
import { sampleDecision } from './lib/durable-commit.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const N = arg('--n', 10_000_000);
/** Appends in flight: one group commit each (the log's largest batch is 8192). */
const WINDOW = 8192;
const root = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'sigil-bench-verify-'));
const data = join(root, 'data');
const out: string[] = [];
const say = (s = '') => {
  console.log(s);
  out.push(s);
};

const load = loadavg().map((x) => x.toFixed(2));
try {
  // 1. The log: decision records (515 B canonical), appended in windows of 8192 in `fast` durability (the
  // verify is what is measured; the writing only has to be quick).
  const log = await MerkleLog.open(join(data, 'ledger'), { durability: 'fast' });
  const t0 = performance.now();
  const template = sampleDecision(0);
  for (let at = 0; at < N; at += WINDOW) {
    const batch: Array<Promise<unknown>> = [];
    for (let i = at; i < Math.min(N, at + WINDOW); i++) {
      batch.push(
        log.append(
          encodeRecord({
            ...template,
            id: `01JD3Q3W6N7V2K8M9P${String(i).padStart(8, '0')}`,
            ts: template.ts + i,
          }),
        ),
      );
    }
    await Promise.all(batch);
    if (at % 1_000_000 < WINDOW) process.stderr.write(`write: ${at}/${N}\n`);
  }
  await log.checkpoints.make();
  await log.close();
  const writeS = (performance.now() - t0) / 1000;
  const fileBytes = statSync(join(data, 'ledger', 'ledger.mdb')).size;

  // 2. The real CLI, as an operator runs it: progress lines on stderr, the JSON report on stdout.
  const t1 = performance.now();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', '--data', data, 'audit', 'verify'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  const progress: string[] = [];
  child.stdout.on('data', (b: Buffer) => {
    stdout += b.toString();
  });
  child.stderr.on('data', (b: Buffer) => {
    for (const line of b.toString().split('\n')) if (line.trim()) progress.push(line.trim());
  });
  const code = await new Promise<number>((r) => child.on('exit', (c) => r(c ?? -1)));
  const wallS = (performance.now() - t1) / 1000;
  const report = JSON.parse(stdout) as {
    ok: boolean;
    entries: number;
    seconds?: number;
    entries_per_second?: number;
  };

  say(`\`npm run bench:verify\` (bench/verify-scale.bench.ts), ${new Date().toISOString().slice(0, 10)}.`);
  say();
  say(
    `**Summary.** \`sigil audit verify\` on a ${N.toLocaleString('en-US')}-entry log (decision records of 515 B, all local) took ${wallS.toFixed(1)} s wall, ${Math.round(report.entries_per_second ?? 0).toLocaleString('en-US')} entries/s by its own report, exit ${code}, ok: ${report.ok}; it printed ${progress.length} progress lines.`,
  );
  say();
  say(
    `Machine: ${cpus().length} vCPU (${cpus()[0]?.model.trim()}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, ${process.platform}; shared machine (load average at start ${load.join(' ')}).`,
  );
  say();
  say('| step | value |');
  say('|---|---:|');
  say(
    `| write ${N.toLocaleString('en-US')} entries (fast durability, 8192 per commit) | ${writeS.toFixed(1)} s (${Math.round(N / writeS).toLocaleString('en-US')} entries/s) |`,
  );
  say(
    `| ledger file | ${(fileBytes / 2 ** 30).toFixed(2)} GiB (${(fileBytes / N).toFixed(0)} B per entry) |`,
  );
  say(`| \`sigil audit verify\`, wall (process start to exit) | ${wallS.toFixed(1)} s |`);
  say(
    `| \`sigil audit verify\`, its report | ${report.seconds ?? '?'} s, ${Math.round(report.entries_per_second ?? 0).toLocaleString('en-US')} entries/s |`,
  );
  say();
  say('Progress lines (stderr; every 100 000 entries, here every 1 000 000th):');
  say();
  say('```');
  for (const l of progress.filter((_, i) => (i + 1) % 10 === 0 || i === progress.length - 1)) say(l);
  say('```');
  if (!process.argv.includes('--no-write'))
    writeBenchmarksSection('Ledger verify at scale (issue #20)', out.join('\n'));
} finally {
  rmSync(root, { recursive: true, force: true });
}
