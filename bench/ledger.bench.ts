/**
 * Ledger benchmark (`npm run bench:ledger`): appends/s with 64 concurrent writers next to a raw lmdb-js put
 * loop of the same value size and the same durability in the same run (sync: wait for the fsync; fast: wait
 * for the commit), proof generation/verification time and size at 1M entries, `audit verify` entries/s and
 * bytes on disk per entry. Prints a Markdown table and writes it into BENCHMARKS.md under "## Ledger".
 * `--quick` runs a smaller version without touching BENCHMARKS.md. Keep it short: the machine is shared.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { open } from 'lmdb';
import {
  type DecisionRecord,
  encodeRecord,
  MerkleLog,
  verifyConsistency,
  verifyInclusion,
} from '../src/ledger/index.js';
import { verifyLog } from '../src/ledger/verify-log.js';
import { writeBenchmarksSection } from './lib/benchmarks-md.js';

const quick = process.argv.includes('--quick');
const WRITERS = 64;
/** Alternating slices per contender and their length in seconds. */
const SLICES = quick ? 3 : 5;
const SLICE = quick ? 0.5 : 1.2;
const WIDE = 2048;
const BIG = quick ? 100_000 : 1_000_000;
const root = mkdtempSync(join(tmpdir(), 'sigil-bench-ledger-'));

const REC: DecisionRecord = {
  v: 1,
  id: '01JD3Q3W6N7V2K8M9P0R4S5T6U',
  ts: 1_767_225_600_000,
  decision: 'allow',
  code: 'OK',
  http_status: 200,
  sub: 'spiffe://sigil.mesh/agent/worker-2/i-1',
  task_id: 'bench-task-0001',
  tool: 'fs.read',
  depth: 2,
  chain: [
    {
      sub: 'spiffe://sigil.mesh/agent/planner/i-1',
      iss: 'spiffe://sigil.mesh/sigil/issuer',
      jti: 'j-000001',
      tool_scope: ['fs.*', 'web.search'],
      exp: 1_767_225_900,
    },
    {
      sub: 'spiffe://sigil.mesh/agent/worker-2/i-1',
      iss: 'spiffe://sigil.mesh/agent/planner/i-1',
      jti: 'j-000002',
      tool_scope: ['fs.*'],
      exp: 1_767_225_900,
    },
  ],
  method: 'POST',
  host: 'tools.internal',
  path: '/mcp',
  token_hash: 'q3Z0m8x2dW1sKzB7eN4pR6tY9uV0aC5fH2jL8oQ1iE4',
  policy_rev: 'sha256:1f2e3d4c',
};
const VALUE = encodeRecord(REC);

/** Runs `writers` closed loops of `op` for `seconds`; returns ops/s and CPU µs (user+sys) per op. */
async function closedLoop(
  writers: number,
  seconds: number,
  op: () => Promise<unknown>,
): Promise<{ rate: number; cpu: number }> {
  let n = 0;
  let stop = false;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const timer = setTimeout(() => {
    stop = true;
  }, seconds * 1000);
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (!stop) {
        await op();
        n++;
      }
    }),
  );
  clearTimeout(timer);
  const c = process.cpuUsage(c0);
  return { rate: n / ((performance.now() - t0) / 1000), cpu: (c.user + c.system) / n };
}

interface RawDb {
  put(k: number, v: Uint8Array): Promise<boolean>;
  flushed: PromiseLike<unknown>;
  close(): Promise<void>;
  getStats(): { entryCount: number };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

interface Duel {
  label: string;
  raw: number;
  ours: number;
  rawCpu: number;
  oursCpu: number;
  bytesRaw: number;
  bytesOurs: number;
}

/**
 * The shared 2-vCPU machine's load drifts by 2-3× within seconds, so the peer and SIGIL run in
 * alternating slices (raw, SIGIL, raw, SIGIL, …) on the same disk and the medians are compared.
 */
async function duel(
  label: string,
  writers: number,
  durability: 'sync' | 'fast',
  decisions: boolean,
): Promise<Duel> {
  const dir = mkdtempSync(join(root, 'duel-'));
  const db = open({
    path: join(dir, 'raw.mdb'),
    encoding: 'binary',
    keyEncoding: 'uint32',
  } as never) as unknown as RawDb;
  const log = await MerkleLog.open(join(dir, 'log'), { durability });
  const value = Buffer.from(VALUE);
  let key = 0;
  let i = 0;
  const raws: Array<{ rate: number; cpu: number }> = [];
  const ours: Array<{ rate: number; cpu: number }> = [];
  for (let r = 0; r < SLICES; r++) {
    raws.push(
      await closedLoop(writers, SLICE, async () => {
        await db.put(key++, value);
        if (durability === 'sync') await db.flushed;
      }),
    );
    ours.push(
      await closedLoop(writers, SLICE, () =>
        decisions ? log.appendDecision({ ...REC, ts: REC.ts + i++ }) : log.append(value),
      ),
    );
  }
  const n = db.getStats().entryCount;
  const logSize = log.size;
  await db.close();
  await log.close();
  const d = {
    label,
    raw: median(raws.map((x) => x.rate)),
    ours: median(ours.map((x) => x.rate)),
    rawCpu: median(raws.map((x) => x.cpu)),
    oursCpu: median(ours.map((x) => x.cpu)),
    bytesRaw: statSync(join(dir, 'raw.mdb')).size / n,
    bytesOurs: statSync(join(dir, 'log', 'ledger.mdb')).size / logSize,
  };
  console.log(
    `${label}: raw ${Math.round(d.raw)}/s, SIGIL ${Math.round(d.ours)}/s (${(d.ours / d.raw).toFixed(2)}×)`,
  );
  return d;
}

/** Wall µs and CPU µs per call of `f`, over `n` calls. */
function timeIt(n: number, f: (i: number) => void): { wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) f(i);
  const c = process.cpuUsage(c0);
  return { wall: ((performance.now() - t0) * 1000) / n, cpu: (c.user + c.system) / n };
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
const loadavg = (): string => {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'n/a';
  }
};
const machine = `${availableParallelism()} vCPU (nproc), ${cpu}, Node ${process.version}, lmdb-js 3.5.6, files under ${tmpdir()} (virtio disk), load average at start ${loadavg()} (machine shared with other jobs)`;
console.log(`machine: ${machine}`);

const duels: Duel[] = [
  await duel(`append, durability=sync, ${WRITERS} writers`, WRITERS, 'sync', false),
  await duel(
    `appendDecision (+ validation, canonical encoding, index postings), sync, ${WRITERS} writers`,
    WRITERS,
    'sync',
    true,
  ),
  await duel(`append, durability=fast, ${WRITERS} writers`, WRITERS, 'fast', false),
  await duel(`appendDecision, fast, ${WRITERS} writers`, WRITERS, 'fast', true),
  await duel(`append, sync, ${WIDE} writers (group-commit capacity)`, WIDE, 'sync', false),
];

// ---- 1M-entry log, built with batched appends (fast mode, 8192 in flight). Entries are the record's
// bytes with the index stamped into them (opaque to the log), so building stays within the time budget;
// proof and verify costs do not depend on what the entries contain.
const bigDir = mkdtempSync(join(root, 'big-'));
const big = await MerkleLog.open(bigDir, { durability: 'fast' });
const buildC0 = process.cpuUsage();
const buildStart = performance.now();
for (let done = 0; done < BIG; ) {
  const n = Math.min(8192, BIG - done);
  const batch: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const v = Buffer.from(VALUE);
    v.writeUInt32BE(done + i, 8);
    batch.push(big.append(v));
  }
  await Promise.all(batch);
  done += n;
}
const buildSecs = (performance.now() - buildStart) / 1000;
const buildCpu = process.cpuUsage(buildC0);
await big.checkpoints.make();
console.log(`built ${big.size} entries in ${buildSecs.toFixed(1)} s`);
const size = big.size;
const rootN = big.root();
let rnd = 12345;
const rand = (m: number) => {
  rnd = (rnd * 1103515245 + 12345) % 2 ** 31;
  return rnd % m;
};
const PROOFS = quick ? 2000 : 10_000;
let inclBytes = 0;
const idx = Array.from({ length: PROOFS }, () => rand(size));
const inclProofs: Uint8Array[][] = [];
const incl = timeIt(PROOFS, (i) => {
  const p = big.inclusionProof(idx[i] as number, size);
  inclBytes += p.length * 32;
  inclProofs.push(p);
});
const leaves = idx.map((i) => big.leafHashAt(i));
let inclOk = 0;
const inclVerify = timeIt(PROOFS, (i) => {
  if (verifyInclusion(leaves[i] as Uint8Array, idx[i] as number, size, inclProofs[i] as Uint8Array[], rootN))
    inclOk++;
});
const m1 = Array.from({ length: PROOFS }, () => 1 + rand(size - 1));
let consBytes = 0;
const consProofs: Uint8Array[][] = [];
const cons = timeIt(PROOFS, (i) => {
  const p = big.consistencyProof(m1[i] as number, size);
  consBytes += p.length * 32;
  consProofs.push(p);
});
const roots1 = m1.slice(0, 1000).map((m) => big.root(m));
const rootT = timeIt(1000, (i) => big.root(m1[i] as number));
let consOk = 0;
const consVerify = timeIt(1000, (i) => {
  if (verifyConsistency(m1[i] as number, size, consProofs[i] as Uint8Array[], roots1[i] as Uint8Array, rootN))
    consOk++;
});
if (inclOk !== PROOFS || consOk !== 1000) throw new Error('a proof failed to verify');
const vC0 = process.cpuUsage();
const vStart = performance.now();
const report = verifyLog(big);
const verifySecs = (performance.now() - vStart) / 1000;
const vCpu = process.cpuUsage(vC0);
if (!report.ok) throw new Error('verify failed on the benchmark log');
await big.close();
const bytesPerEntry = statSync(join(bigDir, 'ledger.mdb')).size / size;

const r = (x: number) => Math.round(x).toLocaleString('en-US');
const f2 = (x: number) => x.toFixed(2);
const cpuS = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1e6;
const table = [
  `Machine: ${machine}.`,
  '',
  `Value = one canonical DecisionRecord, ${VALUE.length} B. Closed loop; the raw lmdb-js put loop (peer) and SIGIL alternate in ${SLICES} slices of ${SLICE} s on the same disk and the medians are compared. Same value size, same durability: sync = resolve after the fsync (raw: \`await put; await flushed\`), fast = resolve at commit (raw: \`await put\`).`,
  '',
  '| workload | raw lmdb-js put loop, ops/s | SIGIL, ops/s | SIGIL / raw | CPU µs/op raw | CPU µs/op SIGIL |',
  '|---|---:|---:|---:|---:|---:|',
  ...duels.map(
    (d) =>
      `| ${d.label} | ${r(d.raw)} | ${r(d.ours)} | **${f2(d.ours / d.raw)}×** | ${f2(d.rawCpu)} | ${f2(d.oursCpu)} |`,
  ),
  '',
  `| at ${r(size)} entries | wall | CPU | size |`,
  '|---|---:|---:|---:|',
  `| build (append of ${VALUE.length} B entries, 8192 in flight, fast) | ${f2(buildSecs)} s (${r(size / buildSecs)} entries/s) | ${f2(cpuS(buildCpu))} s (${f2((cpuS(buildCpu) * 1e6) / size)} µs/entry) | |`,
  `| inclusionProof (random index, ${r(PROOFS)} proofs) | ${f2(incl.wall)} µs | ${f2(incl.cpu)} µs | ${f2(inclBytes / PROOFS)} B (${f2(inclBytes / PROOFS / 32)} hashes) |`,
  `| verifyInclusion (browser-safe, @noble/hashes) | ${f2(inclVerify.wall)} µs | ${f2(inclVerify.cpu)} µs | |`,
  `| consistencyProof (random m → ${r(size)}) | ${f2(cons.wall)} µs | ${f2(cons.cpu)} µs | ${f2(consBytes / PROOFS)} B |`,
  `| verifyConsistency (browser-safe, @noble/hashes) | ${f2(consVerify.wall)} µs | ${f2(consVerify.cpu)} µs | |`,
  `| root(random past size) | ${f2(rootT.wall)} µs | ${f2(rootT.cpu)} µs | 32 B |`,
  `| \`audit verify\` (recompute every hash, check nodes + checkpoint) | ${f2(verifySecs)} s = ${r(size / verifySecs)} entries/s | ${f2(cpuS(vCpu))} s = ${r(size / cpuS(vCpu))} entries per CPU-second | |`,
  `| bytes on disk per entry at ${r(size)} entries (${VALUE.length} B entry + leaf hash + ~1 node hash) | | | ${r(bytesPerEntry)} B |`,
  `| bytes on disk per decision (appendDecision sync duel log: + index postings) | | | ${r((duels[1] as Duel).bytesOurs)} B (raw put loop of the same value: ${r((duels[1] as Duel).bytesRaw)} B) |`,
  '',
  'Reading it:',
  '',
  `- Targets were ≥ 100k durable appends/s with 64 writers and ≥ 0.75× raw. With 64 closed-loop writers every append waits for one fsync of its group commit, so any store, raw lmdb-js included, is capped at 64 / (commit + fsync latency): the raw peer itself reached only ${r(Math.min((duels[0] as Duel).raw, (duels[1] as Duel).raw))}–${r(Math.max((duels[0] as Duel).raw, (duels[1] as Duel).raw))}/s durable in this run, so 100k/s with 64 durable writers was not reachable here by any contender; the 2048-writer row shows what group commit does with more concurrency (${r((duels[4] as Duel).ours)}/s durable for SIGIL). The 0.75× ratio (64 writers, sync) was ${(duels[0] as Duel).ours / (duels[0] as Duel).raw >= 0.75 ? 'met' : 'not met'} in this run (${((duels[0] as Duel).ours / (duels[0] as Duel).raw).toFixed(3)}×).`,
  '- The machine is shared (see the load average): wall-clock rates swing 2-3× between slices, which is why the contenders alternate and medians are compared. Where the ratio falls below 1 the run was CPU-starved and the ratio follows the CPU µs/op columns: an `append` costs one leaf hash and on average one node hash more than a raw put, computed after its batch is submitted so they overlap the commit and fsync (on the tree hasher thread for runs of ≥ 16 entries; the CPU column counts every thread of the process), and 64 B of hash rows per entry stored in bulk every 4096 entries or 2 s (docs/ledger.md §3); an `appendDecision` adds validation, canonical encoding and the index postings (kept in memory and stored in bulk every 4096 entries or 2 s: docs/ledger.md §4).',
  '- `fast` resolves at commit instead of after the fsync; lmdb-js still performs the (overlapping) fsync before the next commit on its write thread, so it gains little throughput here; its value is the shorter wait per call, and its crash window is docs/ledger.md §3.',
  '- Proof and `audit verify` times: the CPU column is the machine-independent figure; wall time includes waiting for a CPU on the shared machine.',
].join('\n');
console.log(`\n${table}`);
rmSync(root, { recursive: true, force: true });

if (!quick) {
  writeBenchmarksSection(
    'Ledger',
    `\`npm run bench:ledger\` (bench/ledger.bench.ts), ${new Date().toISOString().slice(0, 10)}.\n\n${table}`,
  );
  console.log('\n(written to BENCHMARKS.md § Ledger)');
}
