/**
 * Witness benchmark (`npm run bench:witness`, docs/witness.md): (1) checkpoint → cosigned latency with
 * three witnesses (another process, loopback HTTP, each fsyncs its state before answering), the log
 * growing by 100 entries between checkpoints; (2) one witness endpoint's capacity in checkpoints/s with
 * consistency proofs, from 32 logs submitting concurrently. Writes "## Witness (issue #26)" in
 * BENCHMARKS.md (`--no-write`: print only).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { MerkleLog } from '../src/ledger/index.js';
import { WitnessClient } from '../src/witness/index.js';
import { formatAddCheckpoint } from '../src/witness/lib/protocol.js';
import { writeBenchmarksSection } from './lib/benchmarks-md.js';

const write = !process.argv.includes('--no-write');
const CHECKPOINTS = 200;
const PER_CHECKPOINT = 100;
const LOGS = 32;
const CAPACITY_SECONDS = 10;
const root = mkdtempSync(join(tmpdir(), 'sigil-bench-witness-'));
const children: ChildProcess[] = [];

async function startWitnesses(n: number, logs: MerkleLog[]) {
  const args = ['--import', 'tsx', 'bench/lib/witness-servers.ts', String(n)];
  for (const l of logs)
    args.push(`${l.checkpoints.verifierKey.split('+', 1)[0]}=${l.checkpoints.verifierKey}`);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const line = await new Promise<string>((resolve) =>
    createInterface({ input: child.stdout! }).once('line', resolve),
  );
  return JSON.parse(line) as Array<{ name: string; url: string; vkey: string }>;
}

const pct = (xs: number[], p: number) =>
  xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] as number;
const enc = new TextEncoder();

async function latency(): Promise<string[]> {
  const log = await MerkleLog.open(join(root, 'lat'), { origin: 'bench.mesh/lat', durability: 'fast' });
  const witnesses = await startWitnesses(3, [log]);
  const client = new WitnessClient({
    log,
    witnesses: witnesses.map((w) => ({ name: w.name, url: w.url, key: w.vkey })),
    k: 2,
    stateFile: join(root, 'lat-client.json'),
  });
  const make: number[] = [];
  const cosign: number[] = [];
  for (let i = 0; i < CHECKPOINTS + 10; i++) {
    await Promise.all(
      Array.from({ length: PER_CHECKPOINT }, (_, j) => log.append(enc.encode(`e-${i}-${j}`))),
    );
    const t0 = performance.now();
    const cp = await log.checkpoints.make();
    const t1 = performance.now();
    const r = await client.witness(cp);
    const t2 = performance.now();
    if (r.cosigners.length !== 3) throw new Error(`checkpoint ${cp.size}: ${r.cosigners.length} cosigners`);
    if (i >= 10) {
      make.push(t1 - t0);
      cosign.push(t2 - t1);
    }
  }
  await client.close();
  await log.close();
  const total = make.map((m, i) => m + (cosign[i] as number)).sort((a, b) => a - b);
  cosign.sort((a, b) => a - b);
  make.sort((a, b) => a - b);
  const row = (what: string, xs: number[]) =>
    `| ${what} | ${pct(xs, 50).toFixed(2)} | ${pct(xs, 90).toFixed(2)} | ${pct(xs, 99).toFixed(2)} | ${(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(2)} |`;
  return [
    `Checkpoint → cosigned, 3 witnesses (one other process, loopback HTTP/1.1 keep-alive), ${CHECKPOINTS} checkpoints, ${PER_CHECKPOINT} entries between them (log size ${log.size}), ms:`,
    '',
    '| step | p50 | p90 | p99 | mean |',
    '| --- | --- | --- | --- | --- |',
    row('sign + store the checkpoint (`checkpoints.make`)', make),
    row('submit to 3 witnesses, verify 3 cosignatures, store (`WitnessClient.witness`)', cosign),
    row('total', total),
  ];
}

async function capacity(): Promise<string[]> {
  const logs = await Promise.all(
    Array.from({ length: LOGS }, (_, i) =>
      MerkleLog.open(join(root, `cap${i}`), { origin: `bench.mesh/cap${i}`, durability: 'fast' }),
    ),
  );
  const [w] = await startWitnesses(1, logs);
  // Pre-build each log's submissions: 200 checkpoints, 8 entries apart, each with its consistency proof.
  const STEPS = 200;
  const bodies: string[][] = [];
  for (const log of logs) {
    const list: string[] = [];
    let old = 0;
    for (let s = 0; s < STEPS; s++) {
      await Promise.all(Array.from({ length: 8 }, (_, j) => log.append(enc.encode(`c-${s}-${j}`))));
      const cp = await log.checkpoints.make();
      list.push(formatAddCheckpoint(old, old === 0 ? [] : log.consistencyProof(old, cp.size), cp.note));
      old = cp.size;
    }
    bodies.push(list);
  }
  const proofLines = bodies.flat().map((b) => b.slice(0, b.indexOf('\n\n')).split('\n').length - 1);
  let done = 0;
  const deadline = performance.now() + CAPACITY_SECONDS * 1000;
  const t0 = performance.now();
  await Promise.all(
    bodies.map(async (list) => {
      for (const body of list) {
        if (performance.now() > deadline) return;
        const res = await fetch(`${w!.url}/add-checkpoint`, { method: 'POST', body });
        await res.text();
        if (res.status !== 200) throw new Error(`witness answered ${res.status}`);
        done++;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  for (const l of logs) await l.close();
  return [
    `One witness endpoint (its own process): ${LOGS} logs submitting concurrently, each checkpoint 8 entries after the previous with its consistency proof (mean ${(proofLines.reduce((a, b) => a + b, 0) / proofLines.length).toFixed(1)} proof lines), for up to ${CAPACITY_SECONDS} s:`,
    '',
    '| cosigned checkpoints | seconds | checkpoints/s |',
    '| --- | --- | --- |',
    `| ${done} | ${seconds.toFixed(1)} | ${Math.round(done / seconds)} |`,
  ];
}

try {
  const lat = await latency();
  const cap = await capacity();
  const body = [
    `Node ${process.version}, ${cpus().length} vCPU shared with other work, ${new Date().toISOString().slice(0, 10)}. Each witness verifies the log's Ed25519 signature and the RFC 6962 consistency proof, writes its state file (temp file, fsync, rename, fsync of the directory) and cosigns before answering (c2sp.org/tlog-witness).`,
    '',
    ...lat,
    '',
    ...cap,
  ].join('\n');
  process.stdout.write(`${body}\n`);
  if (write) writeBenchmarksSection('Witness (issue #26)', body);
} finally {
  for (const c of children) c.kill('SIGTERM');
  rmSync(root, { recursive: true, force: true });
}
