/**
 * Load generation with vegeta (github.com/tsenart/vegeta, pinned in scripts/setup-tools.sh): an
 * open-model attacker, so fixed-rate runs keep sending on schedule while the server is slow (no
 * coordinated omission), and `-rate=0 -max-workers=N` gives closed-loop saturation. Every result
 * is read back (vegeta encode --to json) and its status checked against the case in its URL.
 */
import { execFile } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { type Proc, startProcess } from './proc.js';
import { CLK_TCK } from './sampler.js';

const execFileP = promisify(execFile);

/** Kinds of request in the mix; the expected status of each is fixed. */
export type Case = 'allow' | 'bad_token' | 'out_of_scope';

/** Expected HTTP status per case (401 = no valid token, 403 = tool not in scope). */
export const EXPECTED_STATUS: Record<Case, number> = { allow: 200, bad_token: 401, out_of_scope: 403 };

/** One request template. */
export interface Target {
  case: Case;
  /** Tool named by the path (`/tools/<tool>`). */
  tool: string;
  /** Bearer token, or undefined for none. */
  token?: string | undefined;
}

/** Writes vegeta's JSON target file: one line per target, sent round-robin, so the case mix is exact. */
export function writeTargets(file: string, port: number, targets: Target[]): void {
  const lines = targets.map((t) =>
    JSON.stringify({
      method: 'GET',
      url: `http://127.0.0.1:${port}/tools/${encodeURIComponent(t.tool)}?case=${t.case}`,
      ...(t.token ? { header: { Authorization: [`Bearer ${t.token}`] } } : {}),
    }),
  );
  writeFileSync(file, `${lines.join('\n')}\n`);
}

/** One load phase. */
export interface LoadSpec {
  vegeta: string;
  targetsFile: string;
  /** Requests per second; 0 = as fast as `maxWorkers` closed-loop workers go (saturation). */
  rate: number;
  durationS: number;
  /** Concurrency cap (for rate 0: the number of in-flight requests). */
  maxWorkers: number;
  cpus?: string | undefined;
  /**
   * Binary results file. Vegeta streams it while the attack runs, so it is written to
   * {@link resultScratchDir} (tmpfs when there is one) and deleted once read: the authorizer's ledger
   * fsyncs on the real disk, and on ext4 (data=ordered) every journal commit would also have to flush
   * the load generator's freshly written results, putting the harness's own I/O into SIGIL's latency.
   */
  outFile: string;
  logFile: string;
  /** Expected status per case; default {@link EXPECTED_STATUS}. */
  expect?: (c: Case) => number;
}

/** What one phase measured. */
export interface LoadResult {
  rate: number;
  requests: number;
  /** Responses with the expected status (Envoy answered, the authorizer decided). */
  ok: number;
  /** Responses with any other status, or transport errors (status 0). */
  unexpected: number;
  /** Status → count. */
  statuses: Record<string, number>;
  /** Case → count. */
  cases: Record<string, number>;
  /** Responses Envoy gave after an authorizer decision (200/401/403), for the ledger cross-check. */
  answered: number;
  /** Wall time from the first request sent to the last response, seconds. */
  spanS: number;
  /** Answered responses per second over `spanS`. */
  throughput: number;
  /** Latency percentiles in milliseconds. */
  p50: number;
  p99: number;
  p999: number;
  max: number;
  /** A few distinct error strings, for the report. */
  errorSamples: string[];
  /** Vegeta's own CPU seconds for the phase. */
  loadgenCpuS: number;
}

/** Runs one vegeta attack and checks every response. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const outFile = join(resultScratchDir(), `${process.pid}-${basename(spec.outFile)}`);
  const args = [
    'attack',
    '-format=json',
    `-targets=${spec.targetsFile}`,
    `-rate=${spec.rate === 0 ? '0' : `${spec.rate}/s`}`,
    `-duration=${spec.durationS}s`,
    `-max-workers=${spec.maxWorkers}`,
    ...(spec.rate === 0 ? [`-workers=${spec.maxWorkers}`] : ['-workers=16']),
    '-timeout=10s',
    '-keepalive=true',
    '-max-body=0',
    `-output=${outFile}`,
  ];
  const before = reapedChildrenCpuSeconds();
  const p: Proc = startProcess({
    name: 'vegeta',
    cmd: spec.vegeta,
    args,
    cpus: spec.cpus,
    logFile: spec.logFile,
  });
  const code = await new Promise<number | null>((resolve) => p.child.on('exit', (c) => resolve(c)));
  if (code !== 0) throw new Error(`vegeta attack exited ${code}: ${p.output().slice(-1000)}`);
  // taskset execs vegeta in place, so the reaped child's CPU is vegeta's own.
  const loadgenCpuS = reapedChildrenCpuSeconds() - before;
  try {
    return await summarize(spec, outFile, loadgenCpuS);
  } finally {
    // SIGIL_BENCH_KEEP=1 keeps the raw results (vegeta binary + JSON lines) for inspection.
    if (process.env.SIGIL_BENCH_KEEP !== '1') {
      rmSync(outFile, { force: true });
      rmSync(`${outFile}.jsonl`, { force: true });
    }
  }
}

/**
 * Where vegeta's result streams go: `SIGIL_BENCH_SCRATCH`, else /dev/shm (tmpfs) when present, else
 * the OS temp dir. Memory use is bounded: one phase's results at a time (a few MB).
 */
export function resultScratchDir(): string {
  const dir =
    process.env.SIGIL_BENCH_SCRATCH ??
    (existsSync('/dev/shm') ? '/dev/shm/sigil-bench' : join(process.env.TMPDIR ?? '/tmp', 'sigil-bench'));
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** cutime+cstime of this process (fields 16, 17 of /proc/self/stat): CPU of children it has reaped. */
function reapedChildrenCpuSeconds(): number {
  const s = readFileSync('/proc/self/stat', 'utf8');
  const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[13]) + Number(rest[14])) / CLK_TCK;
}

async function summarize(spec: LoadSpec, outFile: string, loadgenCpuS: number): Promise<LoadResult> {
  const enc = await encodeToJson(spec.vegeta, outFile);
  const expect = spec.expect ?? ((c: Case) => EXPECTED_STATUS[c] ?? -1);
  const lat: number[] = [];
  const statuses: Record<string, number> = {};
  const cases: Record<string, number> = {};
  const errors = new Set<string>();
  let ok = 0;
  let unexpected = 0;
  let answered = 0;
  let first = Number.POSITIVE_INFINITY;
  let last = 0;
  const rl = createInterface({ input: createReadStream(enc), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of rl) {
    if (!line) continue;
    const r = JSON.parse(line) as {
      code: number;
      latency: number;
      timestamp: string;
      url: string;
      error: string;
    };
    const c = (new URL(r.url).searchParams.get('case') ?? 'unknown') as Case;
    cases[c] = (cases[c] ?? 0) + 1;
    statuses[r.code] = (statuses[r.code] ?? 0) + 1;
    if (r.code === expect(c)) ok++;
    else {
      unexpected++;
      if (errors.size < 5) errors.add(r.error || `case ${c}: status ${r.code}`);
    }
    if (r.code === 200 || r.code === 401 || r.code === 403) answered++;
    lat.push(r.latency / 1e6);
    const t0 = Date.parse(r.timestamp);
    first = Math.min(first, t0);
    last = Math.max(last, t0 + r.latency / 1e6);
  }
  lat.sort((a, b) => a - b);
  const spanS = lat.length ? (last - first) / 1000 : 0;
  return {
    rate: spec.rate,
    requests: lat.length,
    ok,
    unexpected,
    statuses,
    cases,
    answered,
    spanS,
    throughput: spanS > 0 ? answered / spanS : 0,
    p50: pct(lat, 0.5),
    p99: pct(lat, 0.99),
    p999: pct(lat, 0.999),
    max: lat.length ? lat[lat.length - 1]! : 0,
    errorSamples: [...errors],
    loadgenCpuS,
  };
}

/** Nearest-rank percentile of sorted values. */
export function pct(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

async function encodeToJson(vegeta: string, bin: string): Promise<string> {
  const out = `${bin}.jsonl`;
  await execFileP(vegeta, ['encode', '--to', 'json', `--output=${out}`, bin], { maxBuffer: 1 << 20 });
  return out;
}
