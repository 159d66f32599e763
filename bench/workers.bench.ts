/**
 * What the Check workers' hand-off costs (docs/authz.md §12): CPU per request of each process, single process
 * (`sigil.authz.workers: 1`) against N workers + primary, in the same run, on the durable path. Without Envoy:
 * this process drives allowed Checks over gRPC (closed loop, `--concurrency` in flight over `--connections`
 * connections, or an open loop at `--rate` rps) at a `sigil serve` it started in a child process, and reads each
 * process's utime+stime from /proc around a measured window after a warm-up. CPU time is the figure that holds on
 * a busy machine; throughput is printed but means little there.
 *
 *   npx tsx bench/workers.bench.ts [--workers 1,2] [--rounds 2] [--seconds 8] [--concurrency 64]
 *     [--connections 8] [--rate 0] [--prof DIR] [--base DIR]
 *
 * `--base DIR`: also run, interleaved, the server of another checkout (e.g. `git archive` of the commit before a
 * change, with this file copied in and node_modules linked): an A/B in the same run.
 * `--prof DIR` runs every SIGIL process with `--cpu-prof` into DIR (profile after the run with
 * bench/e2e/profile-top.ts).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { Client } from '@grpc/grpc-js';
import { pino } from 'pino';
import { LOCAL_OPERATOR } from '../src/issuer/service.js';
import { authzClient, callCheck } from '../test/support/authz-client.js';
import { checkRequest } from '../test/support/check-request.js';
import { startWorkersSigil } from '../test/support/workers.js';
import { ownCpuSeconds, processTree } from './e2e/lib/sampler.js';

const SELF = 'spiffe://sigil.mesh/agent/tools/workers-bench';

/** `--serve N`: run `sigil serve` in this process with N workers; print {address, token} on stdout. */
async function serve(workers: number): Promise<void> {
  const ws = await startWorkersSigil(
    {
      agent: { spiffe_id: SELF },
      audit: { durability: 'sync' },
      authz: { workers, routes: [{ method: 'GET', path: '/tools/{name}', tool: '{name}' }] },
    },
    { logger: pino({ level: 'warn' }), clients: 0 },
  );
  const { token } = ws.sigil.issuer.service.mint(
    {
      sub: 'spiffe://sigil.mesh/agent/bench/caller',
      task_id: 'bench-task',
      tool_scope: ['fs.read'],
      aud: SELF,
    },
    LOCAL_OPERATOR,
  );
  process.stdout.write(`${JSON.stringify({ address: ws.sigil.authz.address, token })}\n`);
  process.stdin.on('end', () => ws.stop().then(() => process.exit(0)));
  process.stdin.resume();
}

interface Sample {
  requests: number;
  seconds: number;
  /** CPU-ms per request: the root process, the workers summed, all. */
  root: number;
  workers: number;
  all: number;
}

const cpuOf = (pids: number[]) => new Map(pids.map((p) => [p, ownCpuSeconds(p)]));

async function measure(
  workers: number,
  o: { seconds: number; concurrency: number; connections: number; rate: number; prof?: string },
  root?: string,
): Promise<Sample> {
  const self = new URL(import.meta.url).pathname;
  const args = [
    ...(o.prof ? ['--cpu-prof', `--cpu-prof-dir=${o.prof}`] : []),
    '--import',
    'tsx',
    root ? join(root, 'bench', 'workers.bench.ts') : self,
    '--serve',
    String(workers),
  ];
  const child = spawn(process.execPath, args, {
    stdio: ['pipe', 'pipe', 'inherit'],
    ...(root ? { cwd: root } : {}),
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
  const { address, token } = JSON.parse(line) as { address: string; token: string };
  const clients: Client[] = Array.from({ length: o.connections }, () =>
    authzClient(address, { 'grpc.use_local_subchannel_pool': 1 }),
  );
  const req = checkRequest({ method: 'GET', path: '/tools/fs.read' }, token);
  let done = 0;
  let failed = 0;
  let stopAt = 0;
  const one = async (i: number) => {
    const r = await callCheck(clients[i % clients.length]!, req);
    if (r.status?.code === 0) done++;
    else failed++;
  };
  const run = async (ms: number) => {
    stopAt = Date.now() + ms;
    if (o.rate > 0) {
      const inflight = new Set<Promise<void>>();
      const start = Date.now();
      let sent = 0;
      while (Date.now() < stopAt) {
        const due = Math.floor(((Date.now() - start) * o.rate) / 1000);
        for (; sent < due; sent++) {
          const p = one(sent).finally(() => inflight.delete(p));
          inflight.add(p);
        }
        await new Promise((r) => setTimeout(r, 2));
      }
      await Promise.all(inflight);
      return;
    }
    await Promise.all(
      Array.from({ length: o.concurrency }, async (_, k) => {
        let i = k;
        while (Date.now() < stopAt) await one(i++);
      }),
    );
  };
  await run(3000); // warm-up: JIT, connections spread
  const pids = processTree(child.pid!);
  const before = cpuOf(pids);
  const d0 = done;
  const t0 = performance.now();
  await run(o.seconds * 1000);
  const t1 = performance.now();
  const after = cpuOf(pids);
  const requests = done - d0;
  if (failed > 0) throw new Error(`${failed} Checks were not allowed`);
  for (const c of clients) c.close();
  const exited = new Promise((r) => child.once('exit', r));
  child.stdin!.end();
  await exited;
  const used = (p: number) => (after.get(p)! - before.get(p)!) * 1000;
  // pids[0] is the node process we spawned (the primary, or the single process); the rest its workers.
  const rootMs = used(pids[0]!);
  const workersMs = pids.slice(1).reduce((a, p) => a + used(p), 0);
  return {
    requests,
    seconds: (t1 - t0) / 1000,
    root: rootMs / requests,
    workers: workersMs / requests,
    all: (rootMs + workersMs) / requests,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      serve: { type: 'string' },
      workers: { type: 'string', default: '1,2' },
      rounds: { type: 'string', default: '2' },
      seconds: { type: 'string', default: '8' },
      concurrency: { type: 'string', default: '64' },
      connections: { type: 'string', default: '8' },
      rate: { type: 'string', default: '0' },
      prof: { type: 'string' },
      base: { type: 'string' },
    },
  });
  if (values.serve !== undefined) return serve(Number(values.serve));
  const o = {
    seconds: Number(values.seconds),
    concurrency: Number(values.concurrency),
    connections: Number(values.connections),
    rate: Number(values.rate),
    ...(values.prof ? { prof: values.prof } : {}),
  };
  const f = (n: number) => n.toFixed(3);
  console.log('code workers round   rps    CPU-ms/req: root  workers  all');
  const roots: [string, string | undefined][] = [['this', undefined]];
  if (values.base) roots.push(['base', values.base]);
  for (let round = 1; round <= Number(values.rounds); round++)
    for (const w of values.workers.split(',').map(Number))
      for (const [name, root] of roots) {
        const s = await measure(w, o, root);
        console.log(
          `${name} ${String(w).padStart(7)} ${String(round).padStart(5)} ${(s.requests / s.seconds).toFixed(0).padStart(5)}` +
            `    ${f(s.root)}  ${f(s.workers)}  ${f(s.all)}`,
        );
      }
}

await main();
