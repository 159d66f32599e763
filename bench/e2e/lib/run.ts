/**
 * The side-by-side run: every configuration, in turn and interleaved over several rounds (the
 * starting configuration rotates each round), each with a fresh set of processes:
 *   warm-up → saturation (closed loop) → each fixed rate (open loop),
 * sampling the authorizer's CPU (/proc) around every phase and checking every response's status.
 */
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommitProbe } from '../../lib/durable-commit.js';
import { type Case, EXPECTED_STATUS, type LoadResult, runLoad, writeTargets } from './load.js';
import { type Proc, startProcess } from './proc.js';
import { profileTop } from './profile.js';
import {
  type CpuShare,
  cpuSeconds,
  cpuShares,
  cpuTicks,
  ownCpuSeconds,
  peakRssMiB,
  rssSplitMiB,
} from './sampler.js';
import { type SigilFixture, type SigilRun, sigilIssuerTokens, startSigil } from './sigil.js';
import { parseSigilMetrics, type SigilPhase, type SigilScrape, sigilPhase } from './sigil-metrics.js';
import { type CpuPlan, type Paths, startEnvoy, startFloor, startOpa, startUpstream } from './stack.js';
import { benchIssuerTokens, requestMix, type TokenSet } from './tokens.js';

/**
 * The configurations of the comparison. `grpc-floor` (an authorizer that does no work, on SIGIL's
 * transport) measures the rig's ceiling: no authorizer's max throughput can exceed it here.
 */
export const CONFIGS = [
  'none',
  'grpc-floor',
  'sigil',
  'sigil-fast',
  'sigil-journal',
  'sigil-depth3',
  'sigil-w2',
  'sigil-parallel-gc',
  'opa',
] as const;
export type ConfigName = (typeof CONFIGS)[number];

/**
 * What runs without `--configs`: all but `sigil-w2`, whose workers only pay off with ≥ 2 CPUs for the
 * authorizer (`--authz-cpus 0,1`; the default plan pins it to one), and `sigil-parallel-gc`, a setting's
 * comparison rather than a deployment.
 */
export const DEFAULT_CONFIGS: readonly ConfigName[] = CONFIGS.filter(
  (c) => c !== 'sigil-w2' && c !== 'sigil-parallel-gc',
);

/** How each SIGIL configuration runs `sigil serve`. */
const SIGIL_RUNS: Record<Exclude<ConfigName, 'none' | 'grpc-floor' | 'opa'>, SigilRun> = {
  sigil: { durability: 'sync' },
  'sigil-fast': { durability: 'fast' },
  'sigil-journal': { durability: 'journal' },
  // depth-3 runs on the serve default (journal), as an operator would deploy it.
  'sigil-depth3': { durability: 'journal' },
  'sigil-w2': { durability: 'sync', workers: 2 },
  // V8's collector helpers kept on the authorizer's one CPU, where `gc_threads: auto` turns them off
  // (docs/sizing.md §4): the same journal sidecar with the other setting.
  'sigil-parallel-gc': { durability: 'journal', gcThreads: 'parallel' },
};

/** Human labels used in tables. */
export const CONFIG_LABEL: Record<ConfigName, string> = {
  none: '(a) Envoy, no ext_authz',
  sigil: '(b) SIGIL, durable ledger (sync)',
  'sigil-fast': '(b) SIGIL, fast ledger',
  'sigil-journal': '(b) SIGIL, durable ledger (journal)',
  'sigil-depth3': '(b) SIGIL, depth-3 chain, durable (journal)',
  'sigil-w2': '(b) SIGIL, 2 Check workers, durable (sync)',
  'sigil-parallel-gc': '(b) SIGIL, durable (journal), gc_threads: parallel',
  opa: '(c) OPA ext_authz (opa-envoy-plugin path)',
  'grpc-floor': "(floor) no-work authorizer on SIGIL's gRPC transport (h2c)",
};

/** Options of one run. */
export interface RunOptions {
  paths: Paths;
  outDir: string;
  rounds: number;
  configs: ConfigName[];
  /** Fixed request rates (rps) for latency percentiles. */
  rates: number[];
  warmupS: number;
  saturationS: number;
  rateS: number;
  /** In-flight requests in the saturation phase. */
  saturationWorkers: number;
  /**
   * Sustained-rate search (open loop) after saturation ({@link searchSustained}): seconds per rung, 0 = skip.
   */
  sustainedStepS: number;
  /** A rung passes when its median latency stays at or below this (ms). */
  sustainedP50Ms: number;
  cpu: CpuPlan;
  /** Profile SIGIL (node --cpu-prof) and write the steady-state hot spots next to each run. */
  profile?: boolean;
  /**
   * After each round, time raw lmdb-js durable commits (no SIGIL code) at `rate` writes/s for `seconds`,
   * pinned like the authorizer, on the disk the ledgers use: the least a durable decision waits there.
   * Only when a durable SIGIL configuration runs.
   */
  durableProbe?: { rates: number[]; seconds: number };
  /** Progress lines go here. */
  log: (line: string) => void;
}

/** One phase's figures plus the authorizer CPU it cost. */
export interface PhaseResult extends LoadResult {
  authzCpuS: number;
  /**
   * The authorizer's root process alone (its threads, not its children): with Check workers, the primary —
   * transport-free, it holds the one ledger sequencer, whose share bounds how far workers can scale.
   */
  primaryCpuS?: number;
  envoyCpuS: number;
  upstreamCpuS: number;
  /** SIGIL only: Check, ledger-commit and GC figures from its /metrics for this phase. */
  sigil?: SigilPhase;
  /** Per CPU (/proc/stat), the share of the phase that went to any work and to steal. */
  cpuShares?: Record<string, CpuShare>;
}

/** One configuration in one round. */
export interface ConfigRound {
  config: ConfigName;
  round: number;
  saturation: PhaseResult;
  rates: PhaseResult[];
  /** The open-loop search after saturation; undefined when skipped. */
  sustained?: Sustained | undefined;
  /** Peak RSS of the authorizer (MiB), or undefined for (a). */
  authzPeakRssMiB: number | undefined;
  /** The authorizer's RSS at the end of the run, anonymous vs file-backed (MiB). */
  authzRssEnd: { anon: number; file: number } | undefined;
  /** Sum over phases (warm-up included) of responses with an unexpected status or a transport error. */
  unexpected: number;
  /** Envoy's ext_authz counters at the end (ok/denied/error). */
  envoyAuthz: { ok: number; denied: number; error: number };
  /** Responses the authorizer decided (all phases, warm-up included), from vegeta's side. */
  answered: number;
  /** SIGIL only: decisions recorded in its ledger before and after the load (aggregated denies by their count). */
  ledger?: { before: number; after: number } | undefined;
  /** Problems found by the correctness checks (empty = all good). */
  problems: string[];
}

/**
 * The sustained-rate search (open loop): a bisection for the highest fixed rate held, between 0 and `top` ×
 * the closed-loop max, starting at `start` ×, `probes` rungs. A closed loop rewards an authorizer that
 * answers in batches differently from one that answers each request as it comes; a fixed offered rate is
 * what a deployment sees, so both figures are reported.
 */
export const SUSTAINED_SEARCH = { start: 0.5, top: 1.6, probes: 5 } as const;

/** Rates are probed in steps of this many rps. */
const RATE_STEP = 50;
const toStep = (x: number): number => Math.max(RATE_STEP, Math.round(x / RATE_STEP) * RATE_STEP);

/**
 * Runs the bisection with `probe` (true = held) from the closed-loop max `maxRps`; returns the rungs in
 * the order probed and the highest rate held (0 when none was).
 */
export async function searchSustained(
  maxRps: number,
  probe: (rate: number) => Promise<SustainedRung>,
): Promise<Sustained> {
  let lo = 0;
  let hi = toStep(SUSTAINED_SEARCH.top * maxRps);
  let rate = toStep(SUSTAINED_SEARCH.start * maxRps);
  const rungs: SustainedRung[] = [];
  for (let i = 0; i < SUSTAINED_SEARCH.probes && rate > lo && rate < hi; i++) {
    const r = await probe(rate);
    rungs.push(r);
    if (r.pass) lo = rate;
    else hi = rate;
    rate = toStep((lo + hi) / 2);
  }
  return { rps: lo, rungs };
}

/** One rung of the sustained-rate search. */
export interface SustainedRung {
  rate: number;
  /** Requests sent per second over the phase (below `rate` when vegeta ran out of workers). */
  achieved: number;
  p50: number;
  p99: number;
  pass: boolean;
}

/** The sustained-rate search of one configuration run. */
export interface Sustained {
  /** Highest rung that passed (0 when none did). */
  rps: number;
  rungs: SustainedRung[];
}

/** Requests sent per second over a phase: the offered rate actually achieved (0 for an empty phase). */
export function sentRate(p: PhaseResult): number {
  return p.spanS > 0 ? p.requests / p.spanS : 0;
}

/**
 * Whether an open-loop rung was held: every response as expected, ≥ 98 % of the offered rate sent, and the
 * median latency within `p50Ms` (an overloaded server queues, and the median shows it within seconds;
 * the p99 would also move with a single GC pause).
 */
export function rungHeld(p: PhaseResult, rate: number, p50Ms: number): boolean {
  return p.unexpected === 0 && sentRate(p) >= 0.98 * rate && p.p50 <= p50Ms;
}

/** Everything a run produced. */
export interface RunResult {
  options: Omit<RunOptions, 'log' | 'paths'>;
  started: string;
  rounds: ConfigRound[];
  /** Configuration runs that could not be measured (start-up failure, crash), with the reason. */
  failures: Array<{ config: ConfigName; round: number; error: string }>;
  /** {@link RunOptions.durableProbe}'s result per round (absent when not run or when it failed). */
  durableCommits?: Array<CommitProbe & { round: number; rate: number; seconds: number }>;
}

interface Authorizer {
  proc: Proc;
  port: number;
  sigil?: SigilFixture;
}

/**
 * The order of the fixed-rate windows in round `round` (0-based): rotated like the configurations, so no rate
 * always comes at the same time after the saturation phase. A Node.js authorizer's first full collection
 * after that burst comes at a roughly fixed delay; with a fixed order it fell inside the same rate's window
 * in 8 of 9 runs (bench/NOTES.md, seventh session). Results are still reported in `rates` order.
 */
export function rateOrder(rates: readonly number[], round: number): number[] {
  const n = rates.length;
  return rates.map((_, i) => rates[(i + (n - (round % n))) % n] as number);
}

/** Runs the whole comparison. */
export async function runAll(o: RunOptions): Promise<RunResult> {
  const started = new Date().toISOString();
  const rounds: ConfigRound[] = [];
  const failures: RunResult['failures'] = [];
  const durableCommits: NonNullable<RunResult['durableCommits']> = [];
  for (let r = 0; r < o.rounds; r++) {
    // Rotate the order so no configuration always runs first (cold machine) or last.
    const order = o.configs.map((_, i) => o.configs[(i + r) % o.configs.length]!);
    for (const c of order) {
      o.log(`round ${r + 1}/${o.rounds}: ${CONFIG_LABEL[c]}`);
      let res: ConfigRound;
      try {
        res = await runConfig(o, c, r);
      } catch (e) {
        // One configuration failing (e.g. SIGIL does not start) must not lose the others' figures.
        const msg = (e as Error).message.split('\n').slice(0, 12).join('\n');
        o.log(`  FAILED: ${msg}`);
        failures.push({ config: c, round: r, error: msg });
        continue;
      }
      rounds.push(res);
      const sat = res.saturation;
      o.log(
        `  max ${sat.throughput.toFixed(0)} rps; ` +
          res.rates.map((p) => `${p.rate} rps p99 ${p.p99.toFixed(2)} ms`).join('; ') +
          `; unexpected ${res.unexpected}${res.problems.length ? `; PROBLEMS: ${res.problems.join(' | ')}` : ''}`,
      );
    }
    if (o.durableProbe && o.configs.includes('sigil')) {
      for (const rate of o.durableProbe.rates) {
        const probe = { rate, seconds: o.durableProbe.seconds };
        try {
          const x = await probeDurableCommitsPinned(o, r, probe);
          durableCommits.push({ ...x, round: r, ...probe });
          o.log(
            `  durable LMDB commit (raw lmdb-js) at ${rate}/s: p50 ${x.p50.toFixed(2)} ms, p99 ${x.p99.toFixed(2)} ms, ${x.cpuUs.toFixed(0)} µs CPU each`,
          );
        } catch (e) {
          // The probe explains a figure; losing it must not lose the round's measurements.
          o.log(`  durable-commit probe FAILED: ${(e as Error).message.split('\n')[0]}`);
        }
      }
    }
  }
  const { log: _l, paths: _p, ...options } = o;
  return { options, started, rounds, failures, durableCommits };
}

/** Runs bench/e2e/durable-probe.ts as its own process, pinned like the authorizer; its JSON summary. */
async function probeDurableCommitsPinned(
  o: RunOptions,
  round: number,
  probe: { rate: number; seconds: number },
): Promise<CommitProbe> {
  const dir = join(o.outDir, `r${round + 1}-durable-probe`);
  mkdirSync(dir, { recursive: true });
  const proc = startProcess({
    name: 'durable-probe',
    cmd: process.execPath,
    args: [
      '--import',
      'tsx',
      join(o.paths.root, 'bench', 'e2e', 'durable-probe.ts'),
      dir,
      String(probe.rate),
      String(probe.seconds),
    ],
    cpus: o.cpu.authorizer,
    cwd: o.paths.root,
    logFile: join(dir, 'probe.log'),
  });
  try {
    const [line] = await proc.waitFor(/^\{"n":.*\}$/m, (probe.seconds + 60) * 1000);
    return JSON.parse(line) as CommitProbe;
  } finally {
    await proc.stop();
  }
}

async function runConfig(o: RunOptions, config: ConfigName, round: number): Promise<ConfigRound> {
  const dir = join(o.outDir, `r${round + 1}-${config}`);
  const procs: Proc[] = [];
  let authz: Authorizer | undefined;
  try {
    const up = await startUpstream(o.paths, dir, o.cpu.upstream);
    procs.push(up.proc);
    let tokens: TokenSet;
    if (config === 'none' || config === 'opa' || config === 'grpc-floor') {
      // Same token kind and JWKS shape as SIGIL's root tokens; from SIGIL's own issuer when it exists.
      tokens = await tokensForPeer(o, dir);
      if (config === 'opa') {
        const opa = await startOpa(o.paths, dir, tokens, o.cpu.authorizer);
        authz = { proc: opa.proc, port: opa.port };
      }
      if (config === 'grpc-floor') authz = await startFloor(o.paths, dir, o.cpu.authorizer);
    } else {
      const fx = await startSigil(o.paths, dir, {
        ...SIGIL_RUNS[config],
        cpus: o.cpu.authorizer,
        nodeArgs: o.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(dir, 'cpuprofile')}`] : [],
      });
      authz = { proc: fx.proc, port: fx.port, sigil: fx };
      tokens = fx.tokens;
    }
    if (authz) procs.push(authz.proc);
    const envoy = await startEnvoy(o.paths, dir, {
      upstreamPort: up.port,
      authzPort: authz?.port,
      cpus: o.cpu.envoy,
      // As docs/authz.md §12 asks of an Envoy in front of Check workers; the others keep Envoy's default.
      authzStreams: config === 'sigil-w2' ? 8 : undefined,
    });
    procs.push(envoy.proc);
    const leaf = config === 'sigil-depth3' ? tokens.depth3 : tokens.depth1;
    if (!leaf) throw new Error(`${config}: no token`);
    const targets = join(dir, 'targets.json');
    writeTargets(targets, envoy.port, requestMix(tokens, leaf));
    // (a) has no authorizer: every request must reach the upstream.
    const expect = (c: Case) => (config === 'none' ? 200 : EXPECTED_STATUS[c]);
    const ledgerBefore = authz?.sigil?.decisionsAtStart;

    let lastScrape: SigilScrape = parseSigilMetrics('');
    const phase = async (
      name: string,
      rate: number,
      durationS: number,
      workers: number,
    ): Promise<PhaseResult> => {
      let sigilStats: SigilPhase | undefined;
      const a0 = authz ? cpuSeconds(authz.proc.pid) : 0;
      const p0 = authz ? ownCpuSeconds(authz.proc.pid) : 0;
      const e0 = cpuSeconds(envoy.proc.pid);
      const u0 = cpuSeconds(up.proc.pid);
      const t0 = cpuTicks();
      const res = await runLoad({
        vegeta: o.paths.vegeta,
        targetsFile: targets,
        rate,
        durationS,
        maxWorkers: workers,
        cpus: o.cpu.loadgen,
        outFile: join(dir, `${name}.bin`),
        logFile: join(dir, `${name}.vegeta.log`),
        expect,
      });
      const shares = cpuShares(t0, cpuTicks());
      if (authz?.sigil) {
        // SIGIL's own view (Check duration histogram, decisions, ledger size) after each phase, for
        // telling time spent inside SIGIL from time in Envoy and the network.
        const admin = authz.sigil.config.admin.listen;
        const m = await fetch(`http://${admin}/metrics`).then(
          (r) => r.text(),
          (e: Error) => `# ${e.message}\n`,
        );
        writeFileSync(join(dir, `${name}.sigil-metrics.txt`), m);
        const scrape = parseSigilMetrics(m);
        sigilStats = sigilPhase(lastScrape, scrape);
        lastScrape = scrape;
      }
      return {
        ...res,
        ...(sigilStats ? { sigil: sigilStats } : {}),
        authzCpuS: authz ? cpuSeconds(authz.proc.pid) - a0 : 0,
        primaryCpuS: authz ? ownCpuSeconds(authz.proc.pid) - p0 : 0,
        envoyCpuS: cpuSeconds(envoy.proc.pid) - e0,
        upstreamCpuS: cpuSeconds(up.proc.pid) - u0,
        cpuShares: shares,
      };
    };

    const warm = await phase('warmup', Math.min(200, o.rates[0] ?? 200), o.warmupS, 64);
    // The upstream must see the verified identity the authorizer added (it echoes x-sigil-sub's length).
    const probe = await fetch(`http://127.0.0.1:${envoy.port}/tools/${tokens.inScope[0]}?case=allow`, {
      headers: { authorization: `Bearer ${leaf}` },
    });
    await probe.arrayBuffer();
    const identityProblem =
      probe.status !== 200
        ? `identity probe: status ${probe.status}`
        : authz && !probe.headers.get('x-seen-sub')
          ? 'the upstream did not receive x-sigil-sub from the authorizer'
          : undefined;
    const steadyFrom = authz?.sigil ? (Date.now() - authz.sigil.startedAt) / 1000 : 0;
    const saturation = await phase('saturation', 0, o.saturationS, o.saturationWorkers);
    const sustainedPhases: PhaseResult[] = [];
    const sustained =
      o.sustainedStepS > 0 && saturation.throughput > 0
        ? await searchSustained(saturation.throughput, async (rate) => {
            // At most 256 in flight: an overloaded rung shows as a shortfall in the rate sent, never as
            // Envoy's circuit breakers (1024) answering 503 for the overflow.
            const p = await phase(`sustained-${rate}`, rate, o.sustainedStepS, 256);
            sustainedPhases.push(p);
            const pass = rungHeld(p, rate, o.sustainedP50Ms);
            return { rate, achieved: sentRate(p), p50: p.p50, p99: p.p99, pass };
          })
        : undefined;
    const byRate = new Map<number, PhaseResult>();
    // Up to 1 s worth of requests in flight, so the open loop keeps its schedule while the server is slow.
    for (const rate of rateOrder(o.rates, round))
      byRate.set(rate, await phase(`rate-${rate}`, rate, o.rateS, Math.max(64, rate)));
    const rates = o.rates.map((rate) => byRate.get(rate) as PhaseResult);
    const all = [warm, saturation, ...sustainedPhases, ...rates];
    const unexpected = all.reduce((s, p) => s + p.unexpected, 0);
    // + the identity probe, which the authorizer answered (and SIGIL logged) too.
    const answered = all.reduce((s, p) => s + p.answered, 0) + 1;
    const st = await envoy.stats('ext_authz');
    const envoyAuthz = {
      ok: st['http.bench.ext_authz.ok'] ?? 0,
      denied: st['http.bench.ext_authz.denied'] ?? 0,
      error: st['http.bench.ext_authz.error'] ?? 0,
    };
    const authzPeakRssMiB = authz ? peakRssMiB(authz.proc.pid) : undefined;
    const authzRssEnd = authz ? rssSplitMiB(authz.proc.pid) : undefined;
    const problems: string[] = identityProblem ? [identityProblem] : [];
    if (unexpected > 0) {
      const samples = [...new Set(all.flatMap((p) => p.errorSamples))].slice(0, 3);
      problems.push(`${unexpected} responses with an unexpected status (${samples.join('; ')})`);
    }
    if (authz && envoyAuthz.error > 0) problems.push(`Envoy counted ${envoyAuthz.error} ext_authz errors`);
    if (authz && envoyAuthz.ok + envoyAuthz.denied !== answered) {
      problems.push(`Envoy ext_authz ok+denied ${envoyAuthz.ok + envoyAuthz.denied} != answered ${answered}`);
    }
    await envoy.proc.stop();
    let ledger: ConfigRound['ledger'];
    if (authz?.sigil && ledgerBefore !== undefined) {
      // Stop SIGIL first (graceful drain), then read the ledger from disk: what counts is what is durable.
      await authz.proc.stop(15_000);
      const after = await authz.sigil.ledgerDecisions();
      if (o.profile) {
        const pdir = join(dir, 'cpuprofile');
        const main = readdirSync(pdir)
          .filter((f) => f.endsWith('.cpuprofile'))
          .map((f) => join(pdir, f))
          .sort((a, b) => statSync(b).size - statSync(a).size)[0];
        if (main) {
          const out = join(dir, 'profile-top.txt');
          writeFileSync(out, `${profileTop(main, 40, steadyFrom)}\n`);
          o.log(`  CPU profile hot spots (after warm-up): ${out}`);
        }
      }
      ledger = { before: ledgerBefore, after };
      if (after - ledgerBefore !== answered) {
        problems.push(
          `ledger recorded ${after - ledgerBefore} decisions, but SIGIL answered ${answered} requests`,
        );
      }
    }
    return {
      config,
      round,
      saturation,
      rates,
      sustained,
      authzPeakRssMiB,
      authzRssEnd,
      unexpected,
      envoyAuthz,
      answered,
      ledger,
      problems,
    };
  } finally {
    for (const p of procs.reverse()) await p.stop();
  }
}

/** Tokens for (a) and (c): SIGIL's issuer when it can be loaded, else the bench-local issuer. */
async function tokensForPeer(o: RunOptions, dir: string): Promise<TokenSet> {
  if (o.configs.some((c) => c.startsWith('sigil'))) {
    return sigilIssuerTokens(o.paths, dir);
  }
  return benchIssuerTokens();
}
