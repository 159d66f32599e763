/**
 * `npm run bench:disk`: how long a durable write takes on this machine's disk at 1000 writes/s, one write
 * per sync (what SIGIL's ledger sees at ~1 decision per group commit), three ways in the same run:
 *   1. a journal-style 1 KiB overwrite of a preallocated file + fdatasync (the floor for any durable log);
 *   2. a raw lmdb-js put of the same record + waiting for its flush (LMDB commit + fsync, SIGIL's store);
 *   3. SIGIL's `appendDecision` (durability sync).
 * Prints latency percentiles and writes BENCHMARKS.md "## Disk". `--seconds N` per contender (default 8),
 * `--no-write`. Files live under the OS temp dir (the disk the ledger would use in the e2e bench).
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeRecord, MerkleLog } from '../src/ledger/index.js';
import { writeBenchmarksSection } from './lib/benchmarks-md.js';
import {
  type LatencySummary,
  openLoop,
  probeDurableCommits,
  sampleDecision,
  summarizeLatency,
} from './lib/durable-commit.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const SECONDS = Number(arg('--seconds') ?? 8);
const RATE = 1000;
const root = mkdtempSync(join(tmpdir(), 'sigil-bench-disk-'));
const RECORD_BYTES = encodeRecord(sampleDecision(0)).length;

/** 1 KiB overwrites of a preallocated 16 MiB file, each followed by fdatasync, synchronously paced. */
function journalProbe(): number[] {
  const file = join(root, 'journal.bin');
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(1024, 0x5a);
  for (let i = 0; i < 16384; i++) writeSync(fd, block);
  fdatasyncSync(fd);
  const lat: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < SECONDS * RATE; i++) {
    while (performance.now() - t0 < (i * 1000) / RATE) {
      /* pace to RATE without timers (timer granularity is 1 ms) */
    }
    const a = performance.now();
    writeSync(fd, block, 0, block.length, (i % 16384) * 1024);
    fdatasyncSync(fd);
    lat.push(performance.now() - a);
  }
  closeSync(fd);
  return lat;
}

const journal = summarizeLatency(journalProbe());

const raw = await probeDurableCommits(root, RATE, SECONDS);

const log = await MerkleLog.open(join(root, 'ledger'), { durability: 'sync' });
const sigil = summarizeLatency(await openLoop(RATE, SECONDS, (i) => log.appendDecision(sampleDecision(i))));
await log.close();
rmSync(root, { recursive: true, force: true });

const f = (x: number) => x.toFixed(2);
const row = (label: string, l: LatencySummary) =>
  `| ${label} | ${l.n} | ${f(l.p50)} | ${f(l.p99)} | ${f(l.p999)} | ${f(l.max)} | ${l.over5} |`;
const table = [
  `Machine: ${cpus().length} vCPU (${cpus()[0]?.model.trim() ?? '?'}), Node ${process.version}, files under ${tmpdir()}, load average at the end ${loadavg()
    .map((x) => x.toFixed(2))
    .join(
      ' ',
    )} (shared machine). ${RATE} writes/s for ${SECONDS} s each, one record (${RECORD_BYTES} B) per write.`,
  '',
  '| durable write | writes | p50 (ms) | p99 (ms) | p99.9 (ms) | max (ms) | > 5 ms |',
  '|---|---:|---:|---:|---:|---:|---:|',
  row('journal floor: 1 KiB overwrite of a preallocated file + fdatasync', journal),
  row('raw lmdb-js: put + wait for its flush (LMDB commit + fsync)', raw),
  row('SIGIL `appendDecision`, durability sync', sigil),
  '',
  `Reading it: SIGIL's durable append waits for an LMDB commit (SIGIL / raw lmdb-js at p99: ${f(sigil.p99 / raw.p99)}×); LMDB's commit itself is ${f(raw.p99 / journal.p99)}× the journal floor at p99 (${f(raw.p999 / journal.p999)}× at p99.9): it writes several pages per commit (data, branch, free-list and meta pages: ~37 KB per one-record commit, docs/ledger.md §4) where a journal writes one. In the end-to-end benchmark this tail is one part of SIGIL's p99 in durable mode; V8's major GC pauses weigh more there (bench/NOTES.md, docs/ledger.md §9).`,
].join('\n');
console.log(table);
if (!process.argv.includes('--no-write')) {
  writeBenchmarksSection(
    'Disk',
    `\`npm run bench:disk\` (bench/disk.bench.ts), ${new Date().toISOString().slice(0, 10)}.\n\n${table}`,
  );
  console.log('\n(written to BENCHMARKS.md § Disk)');
}
