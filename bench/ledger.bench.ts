/**
 * Ledger benchmark (`npm run bench:ledger`): appends/s with 64 concurrent writers next to a raw lmdb-js put
 * loop of the same value size and the same durability in the same run (sync: wait for the fsync; fast: wait
 * for the commit), proof generation/verification time and size at 1M entries, `audit verify` entries/s and
 * bytes on disk per entry. Prints a Markdown table and writes it into BENCHMARKS.md under "## Ledger".
 * `--quick` runs a smaller version without touching BENCHMARKS.md. Keep it short: the machine is shared.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { open } from 'lmdb';
import { type DecisionRecord, encodeRecord, leafHash, MerkleLog, verifyConsistency, verifyInclusion } from '../src/ledger/index.js';
import { verifyLog } from '../src/ledger/verify-log.js';

const quick = process.argv.includes('--quick');
const WRITERS = 64;
const SECONDS = quick ? 1.5 : 4;
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
    { sub: 'spiffe://sigil.mesh/agent/planner/i-1', iss: 'spiffe://sigil.mesh/sigil/issuer', jti: 'j-000001', tool_scope: ['fs.*', 'web.search'], exp: 1_767_225_900 },
    { sub: 'spiffe://sigil.mesh/agent/worker-2/i-1', iss: 'spiffe://sigil.mesh/agent/planner/i-1', jti: 'j-000002', tool_scope: ['fs.*'], exp: 1_767_225_900 },
  ],
  method: 'POST',
  host: 'tools.internal',
  path: '/mcp',
  token_hash: 'q3Z0m8x2dW1sKzB7eN4pR6tY9uV0aC5fH2jL8oQ1iE4',
  policy_rev: 'sha256:1f2e3d4c',
};
const VALUE = encodeRecord(REC);

/** Runs `writers` loops of `op` for `seconds`; returns ops/s. */
async function closedLoop(writers: number, seconds: number, op: (w: number, i: number) => Promise<unknown>): Promise<number> {
  let n = 0;
  let stop = false;
  const t0 = performance.now();
  setTimeout(() => {
    stop = true;
  }, seconds * 1000);
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      let i = 0;
      while (!stop) {
        await op(w, i++);
        n++;
      }
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

async function rawLmdb(durable: boolean): Promise<{ rate: number; bytes: number }> {
  const dir = mkdtempSync(join(root, 'raw-'));
  const db = open({ path: join(dir, 'raw.mdb'), encoding: 'binary', keyEncoding: 'uint32' } as never) as unknown as {
    put(k: number, v: Uint8Array): Promise<boolean>;
    flushed: PromiseLike<unknown>;
    close(): Promise<void>;
    getStats(): { entryCount: number };
  };
  const value = Buffer.from(VALUE);
  let key = 0;
  const rate = await closedLoop(WRITERS, SECONDS, async () => {
    await db.put(key++, value);
    if (durable) await db.flushed;
  });
  const entries = db.getStats().entryCount;
  await db.close();
  return { rate, bytes: statSync(join(dir, 'raw.mdb')).size / entries };
}

async function ledger(durability: 'sync' | 'fast', decisions: boolean): Promise<number> {
  const dir = mkdtempSync(join(root, 'log-'));
  const log = await MerkleLog.open(dir, { durability });
  const rate = await closedLoop(WRITERS, SECONDS, (_w, i) =>
    decisions ? log.appendDecision({ ...REC, ts: REC.ts + i }) : log.append(VALUE),
  );
  await log.close();
  return rate;
}

function timeIt(n: number, f: (i: number) => void): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) f(i);
  return ((performance.now() - t0) * 1000) / n; // µs per op
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
const machine = `${availableParallelism()} vCPU (nproc), ${cpu}, Node ${process.version}, lmdb-js 3.5.6, tmpfs=${tmpdir()}`;
console.log(`machine: ${machine}`);

// Warm-up (JIT, page cache) so the first measured contender is not penalised.
await rawLmdb(false);

const rawSync = await rawLmdb(true);
const oursSync = await ledger('sync', false);
const oursSyncDec = await ledger('sync', true);
const rawFast = await rawLmdb(false);
const oursFast = await ledger('fast', false);
const oursFastDec = await ledger('fast', true);
console.log({ rawSync: rawSync.rate, oursSync, oursSyncDec, rawFast: rawFast.rate, oursFast, oursFastDec });

// ---- 1M-entry log, built with batched appends (fast mode, 8192 in flight).
const bigDir = mkdtempSync(join(root, 'big-'));
const big = await MerkleLog.open(bigDir, { durability: 'fast' });
const buildStart = performance.now();
for (let done = 0; done < BIG; ) {
  const n = Math.min(8192, BIG - done);
  const batch: Promise<number>[] = [];
  for (let i = 0; i < n; i++) batch.push(big.appendDecision({ ...REC, ts: REC.ts + done + i, id: `d${done + i}` }));
  await Promise.all(batch);
  done += n;
}
const buildSecs = (performance.now() - buildStart) / 1000;
await big.checkpoint();
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
const inclUs = timeIt(PROOFS, (i) => {
  const p = big.inclusionProof(idx[i] as number, size);
  inclBytes += p.length * 32;
  inclProofs.push(p);
});
const leaves = idx.map((i) => big.leafHashAt(i));
let inclOk = 0;
const inclVerifyUs = timeIt(PROOFS, (i) => {
  if (verifyInclusion(leaves[i] as Uint8Array, idx[i] as number, size, inclProofs[i] as Uint8Array[], rootN)) inclOk++;
});
const m1 = Array.from({ length: PROOFS }, () => 1 + rand(size - 1));
let consBytes = 0;
const consProofs: Uint8Array[][] = [];
const consUs = timeIt(PROOFS, (i) => {
  const p = big.consistencyProof(m1[i] as number, size);
  consBytes += p.length * 32;
  consProofs.push(p);
});
const roots1 = m1.slice(0, 200).map((m) => big.root(m));
const rootUs = timeIt(200, (i) => big.root(m1[i] as number));
let consOk = 0;
const consVerifyUs = timeIt(200, (i) => {
  if (verifyConsistency(m1[i] as number, size, consProofs[i] as Uint8Array[], roots1[i] as Uint8Array, rootN)) consOk++;
});
if (inclOk !== PROOFS || consOk !== 200) throw new Error('a proof failed to verify');
void leafHash;
const vStart = performance.now();
const report = verifyLog(big);
const verifySecs = (performance.now() - vStart) / 1000;
if (!report.ok) throw new Error('verify failed on the benchmark log');
await big.close();
const bytesPerEntry = statSync(join(bigDir, 'ledger.mdb')).size / size;

const r = (x: number) => Math.round(x).toLocaleString('en-US');
const f2 = (x: number) => x.toFixed(2);
const table = [
  `Machine: ${machine}. Value = one canonical DecisionRecord, ${VALUE.length} B. ${WRITERS} concurrent writers, closed loop, ${SECONDS} s each.`,
  '',
  '| appends, 64 writers | ops/s | vs raw lmdb-js put loop (same value, same durability) |',
  '|---|---:|---:|',
  `| raw lmdb-js \`put\` + \`await flushed\` (peer, sync) | ${r(rawSync.rate)} | 1.00× |`,
  `| MerkleLog.append, durability=sync | ${r(oursSync)} | ${f2(oursSync / rawSync.rate)}× |`,
  `| MerkleLog.appendDecision (+ encode + 5 index keys), sync | ${r(oursSyncDec)} | ${f2(oursSyncDec / rawSync.rate)}× |`,
  `| raw lmdb-js \`put\` (peer, commit only) | ${r(rawFast.rate)} | 1.00× |`,
  `| MerkleLog.append, durability=fast | ${r(oursFast)} | ${f2(oursFast / rawFast.rate)}× |`,
  `| MerkleLog.appendDecision, fast | ${r(oursFastDec)} | ${f2(oursFastDec / rawFast.rate)}× |`,
  '',
  `| at ${r(size)} entries | time | size |`,
  '|---|---:|---:|',
  `| build (appendDecision, 8192 in flight, fast) | ${f2(buildSecs)} s (${r(size / buildSecs)} entries/s) | |`,
  `| inclusionProof (random index, ${r(PROOFS)} proofs) | ${f2(inclUs)} µs | ${f2(inclBytes / PROOFS)} B (${f2(inclBytes / PROOFS / 32)} hashes) |`,
  `| verifyInclusion (@noble/hashes) | ${f2(inclVerifyUs)} µs | |`,
  `| consistencyProof (random m → ${r(size)}) | ${f2(consUs)} µs | ${f2(consBytes / PROOFS)} B |`,
  `| verifyConsistency (@noble/hashes) | ${f2(consVerifyUs)} µs | |`,
  `| root(past size) | ${f2(rootUs)} µs | 32 B |`,
  `| \`audit verify\` (recompute all, check nodes + checkpoint) | ${f2(verifySecs)} s = ${r(size / verifySecs)} entries/s | |`,
  `| bytes on disk per entry (ledger.mdb / entries; ${VALUE.length} B value + indexes + hashes) | | ${r(bytesPerEntry)} B (raw put loop: ${r(rawSync.bytes)} B) |`,
].join('\n');
console.log(`\n${table}`);
rmSync(root, { recursive: true, force: true });

if (!quick) {
  const file = new URL('../BENCHMARKS.md', import.meta.url);
  let md = '';
  try {
    md = readFileSync(file, 'utf8');
  } catch {
    md = '# Benchmarks\n';
  }
  const section = `## Ledger\n\n\`npm run bench:ledger\` (bench/ledger.bench.ts), ${new Date().toISOString().slice(0, 10)}.\n\n${table}\n`;
  const start = md.indexOf('## Ledger');
  if (start === -1) md = `${md.trimEnd()}\n\n${section}`;
  else {
    const next = md.indexOf('\n## ', start + 1);
    md = md.slice(0, start) + section + (next === -1 ? '' : md.slice(next));
  }
  writeFileSync(file, md);
  console.log('\n(written to BENCHMARKS.md § Ledger)');
}
