/**
 * Turns a run into figures: medians over rounds per configuration, ratios SIGIL / OPA from the same
 * run, the printed tables, and the "## End-to-end" section of BENCHMARKS.md (written from these
 * figures, never by hand).
 */
import {
  CONFIG_LABEL,
  type ConfigName,
  type ConfigRound,
  type PhaseResult,
  type RunResult,
  SUSTAINED_SEARCH,
  sentRate,
} from './run.js';
import type { CpuShare } from './sampler.js';
import type { SigilPhase } from './sigil-metrics.js';

/** Median-of-rounds figures of one configuration. */
export interface ConfigSummary {
  config: ConfigName;
  rounds: number;
  maxRps: number;
  /** Smallest and largest per-round max throughput: the spread the machine added. */
  maxRpsRange: [number, number];
  /**
   * Open loop: the highest offered rate held (median over rounds, and the per-round values); undefined
   * when the run skipped the search.
   */
  sustained: { rps: number; perRound: number[] } | undefined;
  /**
   * Authorizer CPU seconds per 1000 answered requests at saturation: what a fully busy core spends per
   * request, so 1000 / this is the capacity per core.
   */
  cpuPer1k: number | undefined;
  /**
   * The same at each fixed rate (median over rounds): below saturation the authorizer's fixed costs (timers,
   * wake-ups, one commit per decision instead of a batch) weigh on each request, so this is what a sidecar
   * costs at that load, not what a core can serve.
   */
  cpuPer1kAt: Array<{ rate: number; per1k: number }> | undefined;
  /** Authorizer CPU use during saturation, in cores. */
  busyCores: number | undefined;
  /** Envoy + upstream + vegeta CPU use during saturation, in cores (the rig's share of CPU 0). */
  rigCores: number;
  /**
   * /proc/stat shares of the rig's CPU and the authorizer's CPU during saturation (medians over rounds):
   * all work including the kernel's, and steal. Undefined when the run did not pin them to one CPU each.
   */
  cpuAtMax: { rig: CpuShare; authz: CpuShare } | undefined;
  peakRssMiB: number | undefined;
  /** Median over rounds of the RSS at the end of the run: anonymous / file-backed (MiB). */
  rssEnd: { anon: number; file: number } | undefined;
  /** Per fixed rate: median p50/p99/p99.9 (ms) and the achieved rate. */
  latency: Array<{ rate: number; achieved: number; p50: number; p99: number; p999: number }>;
  unexpected: number;
  answered: number;
  /** "ok" or what went wrong, for SIGIL's ledger growth check. */
  ledger: string | undefined;
  problems: string[];
}

/** Median over rounds of one CPU's shares during saturation; undefined unless `cpu` names one CPU. */
function cpuShareAtMax(rs: ConfigRound[], cpu: string | undefined): CpuShare | undefined {
  if (cpu === undefined || !/^\d+$/.test(cpu)) return undefined;
  const xs = rs.map((r) => r.saturation.cpuShares?.[cpu]).filter((x): x is CpuShare => x !== undefined);
  if (xs.length === 0) return undefined;
  return { busy: median(xs.map((x) => x.busy)), steal: median(xs.map((x) => x.steal)) };
}

const median = (xs: number[]): number => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Medians over rounds, per configuration, in the run's configuration order. */
export function summarize(run: RunResult): ConfigSummary[] {
  const out: ConfigSummary[] = [];
  for (const config of run.options.configs) {
    const rs = run.rounds.filter((r) => r.config === config);
    if (rs.length === 0) continue;
    const hasAuthz = config !== 'none';
    const latency = run.options.rates.map((rate) => {
      const ps = rs.map((r) => phaseAt(r, rate)).filter((p): p is PhaseResult => !!p);
      return {
        rate,
        achieved: median(ps.map(sentRate)),
        p50: median(ps.map((p) => p.p50)),
        p99: median(ps.map((p) => p.p99)),
        p999: median(ps.map((p) => p.p999)),
      };
    });
    const ledgerRounds = rs.filter((r) => r.ledger);
    out.push({
      config,
      rounds: rs.length,
      maxRps: median(rs.map((r) => r.saturation.throughput)),
      maxRpsRange: [
        Math.min(...rs.map((r) => r.saturation.throughput)),
        Math.max(...rs.map((r) => r.saturation.throughput)),
      ],
      sustained: rs.every((r) => r.sustained)
        ? { rps: median(rs.map((r) => r.sustained!.rps)), perRound: rs.map((r) => r.sustained!.rps) }
        : undefined,
      cpuPer1k: hasAuthz ? median(rs.map((r) => cpuPer1kIn(r.saturation))) : undefined,
      cpuPer1kAt: hasAuthz
        ? run.options.rates.map((rate) => ({
            rate,
            per1k: median(rs.map((r) => cpuPer1kIn(phaseAt(r, rate)))),
          }))
        : undefined,
      rigCores: median(
        rs.map((r) => {
          const p = r.saturation;
          return p.spanS > 0 ? (p.envoyCpuS + p.upstreamCpuS + p.loadgenCpuS) / p.spanS : Number.NaN;
        }),
      ),
      cpuAtMax: (() => {
        const rig = cpuShareAtMax(rs, run.options.cpu.envoy);
        const authz = cpuShareAtMax(rs, run.options.cpu.authorizer);
        return rig && authz ? { rig, authz } : undefined;
      })(),
      busyCores: hasAuthz
        ? median(
            rs.map((r) =>
              r.saturation.spanS > 0 ? r.saturation.authzCpuS / r.saturation.spanS : Number.NaN,
            ),
          )
        : undefined,
      peakRssMiB: hasAuthz ? Math.max(...rs.map((r) => r.authzPeakRssMiB ?? 0)) : undefined,
      rssEnd: hasAuthz
        ? {
            anon: median(rs.map((r) => r.authzRssEnd?.anon ?? Number.NaN)),
            file: median(rs.map((r) => r.authzRssEnd?.file ?? Number.NaN)),
          }
        : undefined,
      latency,
      unexpected: rs.reduce((s, r) => s + r.unexpected, 0),
      answered: rs.reduce((s, r) => s + r.answered, 0),
      ledger: ledgerRounds.length
        ? ledgerRounds.every((r) => r.ledger!.after - r.ledger!.before === r.answered)
          ? `ok: grew by exactly the ${ledgerRounds.reduce((s, r) => s + r.answered, 0)} answered requests`
          : `MISMATCH: ${ledgerRounds.map((r) => `+${r.ledger!.after - r.ledger!.before} vs ${r.answered}`).join(', ')}`
        : undefined,
      problems: rs.flatMap((r) => r.problems.map((p) => `round ${r.round + 1}: ${p}`)),
    });
  }
  return out;
}

/** A SIGIL / OPA comparison line with its target. */
export interface Ratio {
  sigil: ConfigName;
  throughput: number;
  /** Sustained (open-loop) rate ratio; NaN when the run skipped the search. */
  sustained: number;
  /** (p99 − p99 of (a)) ratio at the reference rate. */
  addedP99: number;
  cpu: number;
  rss: number;
  /** Anonymous RSS at the end of the run (the process's own memory, without mapped files). */
  anonRss: number;
  refRate: number;
  /** Rounds the median is taken over. */
  rounds: number;
}

/** `r`'s fixed-rate phase at `rate`, if it ran. */
const phaseAt = (r: ConfigRound | undefined, rate: number): PhaseResult | undefined =>
  r?.rates.find((p) => p.rate === rate);

const p99At = (r: ConfigRound | undefined, rate: number) => phaseAt(r, rate)?.p99 ?? Number.NaN;

/**
 * `x`'s p99 added over (a) at `rate` divided by OPA's, within one round. NaN (left out of the medians)
 * when OPA added nothing: a noisy baseline round would otherwise give a meaningless or negative ratio.
 */
export function addedP99Ratio(
  x: ConfigRound,
  opa: ConfigRound,
  none: ConfigRound | undefined,
  rate: number,
): number {
  const base = none ? p99At(none, rate) : 0;
  const opaAdded = p99At(opa, rate) - base;
  return opaAdded > 0 ? (p99At(x, rate) - base) / opaAdded : Number.NaN;
}

/** Configuration `c`'s run in round `round`, if it was measured. */
const roundOf = (run: RunResult, c: ConfigName, round: number): ConfigRound | undefined =>
  run.rounds.find((r) => r.config === c && r.round === round);

/**
 * Authorizer CPU seconds (all its processes, or `primaryCpuS`: the root process alone) per 1000 answered
 * requests in one phase. Capacity figures use the saturation phase only: averaged with fixed-rate phases,
 * whose request counts dwarf it in 60 s windows, they measured the idle sidecar's fixed costs instead.
 */
function cpuPer1kIn(p: PhaseResult | undefined, k: 'authzCpuS' | 'primaryCpuS' = 'authzCpuS'): number {
  return p && p.answered > 0 ? ((p[k] ?? Number.NaN) / p.answered) * 1000 : Number.NaN;
}

/**
 * Ratios of each SIGIL configuration to OPA. Each ratio is computed within one round (the
 * configurations of a round ran back to back, under the same conditions on the machine) and the
 * median over rounds is reported, which cancels much of the drift a shared machine adds.
 */
export function ratios(run: RunResult, refRate: number): Ratio[] {
  const out: Ratio[] = [];
  for (const c of run.options.configs.filter((x) => x.startsWith('sigil'))) {
    const per = run.rounds
      .filter((r) => r.config === c)
      .flatMap((s) => {
        const o = roundOf(run, 'opa', s.round);
        if (!o) return [];
        return [
          {
            throughput: s.saturation.throughput / o.saturation.throughput,
            sustained: (s.sustained?.rps ?? Number.NaN) / (o.sustained?.rps ?? Number.NaN),
            addedP99: addedP99Ratio(s, o, roundOf(run, 'none', s.round), refRate),
            cpu: cpuPer1kIn(s.saturation) / cpuPer1kIn(o.saturation),
            rss: (s.authzPeakRssMiB ?? Number.NaN) / (o.authzPeakRssMiB ?? Number.NaN),
            anonRss: (s.authzRssEnd?.anon ?? Number.NaN) / (o.authzRssEnd?.anon ?? Number.NaN),
          },
        ];
      });
    if (per.length === 0) continue;
    out.push({
      sigil: c,
      throughput: median(per.map((x) => x.throughput)),
      sustained: median(per.map((x) => x.sustained)),
      addedP99: median(per.map((x) => x.addedP99)),
      cpu: median(per.map((x) => x.cpu)),
      rss: median(per.map((x) => x.rss)),
      anonRss: median(per.map((x) => x.anonRss)),
      refRate,
      rounds: per.length,
    });
  }
  return out;
}

/** Per fixed rate: p99 added over (a) × OPA's, and p99.9 × OPA's (medians of per-round ratios). */
export interface TailRatios {
  config: ConfigName;
  byRate: Array<{ rate: number; addedP99: number; p999: number }>;
}

/**
 * Tail ratios to OPA at every fixed rate, for each SIGIL configuration and the floor (the tail a Node.js
 * authorizer doing no work adds on this rig), each within one round, medians over rounds.
 */
export function tailRatios(run: RunResult): TailRatios[] {
  const out: TailRatios[] = [];
  for (const c of run.options.configs.filter((x) => x.startsWith('sigil') || x === 'grpc-floor')) {
    const rs = run.rounds.filter((r) => r.config === c);
    const byRate = run.options.rates.map((rate) => {
      const added: number[] = [];
      const p999: number[] = [];
      for (const x of rs) {
        const o = roundOf(run, 'opa', x.round);
        if (!o) continue;
        added.push(addedP99Ratio(x, o, roundOf(run, 'none', x.round), rate));
        const a = phaseAt(x, rate)?.p999;
        const b = phaseAt(o, rate)?.p999;
        p999.push(a !== undefined && b !== undefined && b > 0 ? a / b : Number.NaN);
      }
      return { rate, addedP99: median(added), p999: median(p999) };
    });
    if (byRate.some((b) => Number.isFinite(b.addedP99) || Number.isFinite(b.p999)))
      out.push({ config: c, byRate });
  }
  return out;
}

/**
 * The floor's max throughput relative to OPA's and SIGIL's (durable) relative to the floor's, each
 * within one round, medians over rounds; undefined without floor and OPA runs.
 */
export function rigCeiling(
  run: RunResult,
  refRate: number,
):
  | {
      floorVsOpa: number;
      perRound: number[];
      sigilVsFloor: number | undefined;
      /** The floor's p99 added over (a) at `refRate` relative to OPA's, per round. */
      addedP99: number[];
    }
  | undefined {
  const rounds = [...new Set(run.rounds.map((r) => r.round))];
  const perRound: number[] = [];
  const sigil: number[] = [];
  const addedP99: number[] = [];
  for (const round of rounds) {
    const floor = roundOf(run, 'grpc-floor', round);
    const opa = roundOf(run, 'opa', round);
    const s = roundOf(run, 'sigil', round);
    const none = roundOf(run, 'none', round);
    if (floor && opa) perRound.push(floor.saturation.throughput / opa.saturation.throughput);
    if (floor && s) sigil.push(s.saturation.throughput / floor.saturation.throughput);
    if (floor && opa && none) addedP99.push(addedP99Ratio(floor, opa, none, refRate));
  }
  if (perRound.length === 0) return undefined;
  return {
    floorVsOpa: median(perRound),
    perRound,
    sigilVsFloor: sigil.length ? median(sigil) : undefined,
    addedP99,
  };
}

/**
 * The disk's share of the latency target at `rate`, per round with a durable-commit probe at that rate: the
 * least a durable decision adds at p99 (the probe's commit p99 minus (a)'s own p99; every durable decision
 * waits for at least one commit, so this is a lower bound), an estimate of what the transport and one commit
 * add together (the commit p99 plus the no-work floor's median added over (a), when the floor ran), and the
 * target's budget (0.7 × OPA's p99 added). Undefined without probes at `rate`, or without (a) and OPA rounds.
 */
export function durableFloor(
  run: RunResult,
  rate: number,
):
  | {
      commitP50: number;
      commitP99: number[];
      /** Median CPU per commit (µs) of the probe process. */
      cpuUs: number;
      leastAdded: number[];
      /** Commit p99 + the floor's p50 added over (a), per round with a floor run. */
      withTransport: number[];
      budget: number[];
      rate: number;
      seconds: number;
    }
  | undefined {
  const probes = (run.durableCommits ?? []).filter((x) => x.rate === rate);
  const commitP50: number[] = [];
  const commitP99: number[] = [];
  const cpuUs: number[] = [];
  const leastAdded: number[] = [];
  const withTransport: number[] = [];
  const budget: number[] = [];
  const p50At = (r: ConfigRound) => phaseAt(r, rate)?.p50 ?? Number.NaN;
  for (const x of probes) {
    const none = roundOf(run, 'none', x.round);
    const opa = roundOf(run, 'opa', x.round);
    if (!none || !opa) continue;
    commitP50.push(x.p50);
    commitP99.push(x.p99);
    cpuUs.push(x.cpuUs);
    leastAdded.push(Math.max(0, x.p99 - p99At(none, rate)));
    const floor = roundOf(run, 'grpc-floor', x.round);
    if (floor) withTransport.push(x.p99 + Math.max(0, p50At(floor) - p50At(none)));
    budget.push(0.7 * (p99At(opa, rate) - p99At(none, rate)));
  }
  if (commitP99.length === 0) return undefined;
  return {
    commitP50: median(commitP50),
    commitP99,
    cpuUs: median(cpuUs),
    leastAdded,
    withTransport,
    budget,
    rate,
    seconds: probes[0]!.seconds,
  };
}

/** Medians over rounds of SIGIL's in-process figures at `rate`, per SIGIL configuration. */
export function insideSigil(run: RunResult, rate: number): Array<SigilPhase & { config: ConfigName }> {
  const out: Array<SigilPhase & { config: ConfigName }> = [];
  for (const config of run.options.configs.filter((c) => c.startsWith('sigil'))) {
    const ps = run.rounds
      .filter((r) => r.config === config)
      .map((r) => phaseAt(r, rate)?.sigil)
      .filter((p): p is SigilPhase => p !== undefined);
    if (ps.length === 0) continue;
    const m = (k: keyof SigilPhase) => median(ps.map((p) => p[k]));
    out.push({
      config,
      checks: m('checks'),
      checkP50Ms: m('checkP50Ms'),
      checkP99Ms: m('checkP99Ms'),
      commits: m('commits'),
      commitP99Ms: m('commitP99Ms'),
      perCommit: m('perCommit'),
      majorGcs: m('majorGcs'),
      majorGcMs: m('majorGcMs'),
    });
  }
  return out;
}

const f = (x: number | undefined, d = 2) => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(d));

/** CPU-s per 1000 requests of a SIGIL configuration: all its processes, and the root process (the primary) alone. */
export interface PrimaryShare {
  config: ConfigName;
  totalPer1k: number;
  primaryPer1k: number;
}

/**
 * Medians over rounds (at saturation, like the CPU column) of the whole authorizer's CPU and of its root
 * process's: with Check workers the primary runs the one ledger sequencer, so 1000 ÷ its CPU-s per 1000
 * requests is the rate at which one fully busy primary core stops any further worker from helping.
 */
export function primaryShares(run: RunResult): PrimaryShare[] {
  const out: PrimaryShare[] = [];
  for (const config of run.options.configs.filter((c) => c.startsWith('sigil'))) {
    const rs = run.rounds.filter((r) => r.config === config);
    if (rs.length === 0) continue;
    out.push({
      config,
      totalPer1k: median(rs.map((r) => cpuPer1kIn(r.saturation))),
      primaryPer1k: median(rs.map((r) => cpuPer1kIn(r.saturation, 'primaryCpuS'))),
    });
  }
  return out;
}

/** The report as Markdown (printed to stdout and written to BENCHMARKS.md). */
export function renderMarkdown(
  run: RunResult,
  sum: ConfigSummary[],
  meta: { machine: string; cpuPlan: string; command: string; refRate: number; sigilRunner: string },
): string {
  const o = run.options;
  const L: string[] = [];
  L.push('## End-to-end');
  L.push('');
  L.push(
    `Side-by-side behind one real Envoy 1.40, written by \`${meta.command}\` (bench/e2e.ts) on ${run.started}. ` +
      'Do not edit by hand: re-run the command.',
  );
  L.push('');
  L.push(`- Machine: ${meta.machine}`);
  L.push(`- CPU placement: ${meta.cpuPlan}`);
  L.push(`- SIGIL ran as: \`${meta.sigilRunner} serve\`, log level warn`);
  L.push(
    `- Rounds: ${o.rounds}, configurations interleaved (order rotated each round), fresh processes per configuration; figures are medians over rounds. ` +
      `Per configuration: ${o.warmupS} s warm-up, ${o.saturationS} s saturation (${o.saturationWorkers} in-flight requests, closed loop), ` +
      `${o.rateS} s at each fixed rate (${o.rates.join(', ')} rps, open loop; their order rotated each round like the configurations).`,
  );
  L.push(
    '- Load: vegeta v12.13.0; every 10 requests: 8 allowed (`GET /tools/fs.read|web.search`), 1 forged token (expected 401), ' +
      '1 tool outside the scope (`/tools/shell.exec`, expected 403); every response status checked.',
  );
  L.push(
    '- Same job for both authorizers: verify the Ed25519 TBIT from `Authorization: Bearer` against the same issuer JWKS, ' +
      'check the tool named by the path is in `tool_scope`. SIGIL also appends every decision to its Merkle ledger before answering ' +
      '(durable = `audit.durability: sync`, or `journal` where labelled; fast = `fast`), checks the chain rules, audience and revocation.',
  );
  L.push(
    '- (c) is the real opa-envoy-plugin (`.tools/bin/opa-envoy-plugin run --server`, built from the peers source by scripts/setup-tools.sh), ' +
      "policy envoy/bench/opa/policy.rego (`io.jwt.decode_verify`), OPA's JWT verification cache on.",
  );
  L.push('');
  L.push(
    '| configuration | max throughput (rps), median [min–max] | authorizer CPU-s / 1000 req at max | authorizer capacity per core (rps) | authorizer cores busy at max | rig cores busy at max | authorizer peak RSS (MiB) | RSS at end: anon / file-backed (MiB) | unexpected statuses | ledger check |',
  );
  L.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const s of sum) {
    L.push(
      `| ${CONFIG_LABEL[s.config]} | ${f(s.maxRps, 0)} [${f(s.maxRpsRange[0], 0)}–${f(s.maxRpsRange[1], 0)}] | ${f(s.cpuPer1k, 3)} | ${s.cpuPer1k ? f(1000 / s.cpuPer1k, 0) : '–'} | ${f(s.busyCores, 2)} | ${f(s.rigCores, 2)} | ${f(s.peakRssMiB, 0)} | ${s.rssEnd ? `${f(s.rssEnd.anon, 0)} / ${f(s.rssEnd.file, 0)}` : '–'} | ${s.unexpected} | ${s.ledger ?? '–'} |`,
    );
  }
  L.push('');
  L.push(
    'Max throughput is the whole rig at saturation: when "rig cores busy at max" (Envoy + upstream + vegeta on CPU 0) is near 1 ' +
      'while the authorizer core is not, the rig is the ceiling and "authorizer capacity per core" (1000 / CPU-s per 1000 requests ' +
      'at saturation: what one core running only the authorizer would sustain) is the fairer throughput comparison.',
  );
  L.push('');
  const withRates = sum.filter((s) => s.cpuPer1kAt);
  const opaSum = sum.find((s) => s.config === 'opa');
  if (withRates.length > 0 && o.rates.length > 0) {
    L.push(
      "The authorizer's CPU per request (µs, all its processes and threads) at saturation and at each fixed rate, and × OPA's in " +
        'brackets. Below saturation the fixed costs of a process (timers, wake-ups; for SIGIL one LMDB commit per decision instead ' +
        'of a batch) fall on fewer requests: this is what the sidecar costs at that load, not what a core can serve.',
    );
    L.push('');
    L.push(`| configuration | at max | ${o.rates.map((r) => `${r} rps`).join(' | ')} |`);
    L.push(`|---|---:|${o.rates.map(() => '---:').join('|')}|`);
    const cell = (x: number | undefined, ref: number | undefined, isOpa: boolean) =>
      x === undefined || !Number.isFinite(x)
        ? '–'
        : `${f(x * 1000, 0)}${!isOpa && ref !== undefined && Number.isFinite(ref) ? ` (${f(x / ref)}×)` : ''}`;
    for (const s of withRates) {
      const isOpa = s.config === 'opa';
      const at = (rate: number, from: ConfigSummary | undefined) =>
        from?.cpuPer1kAt?.find((x) => x.rate === rate)?.per1k;
      L.push(
        `| ${CONFIG_LABEL[s.config]} | ${cell(s.cpuPer1k, opaSum?.cpuPer1k, isOpa)} | ${o.rates.map((r) => cell(at(r, s), at(r, opaSum), isOpa)).join(' | ')} |`,
      );
    }
    L.push('');
  }
  const rs = ratios(run, meta.refRate);
  const withSustained = sum.filter((s) => s.sustained);
  if (withSustained.length > 0) {
    L.push(
      `Sustained rate (open loop): after saturation, a bisection for the highest fixed rate held, between 0 and ` +
        `${SUSTAINED_SEARCH.top}× the closed-loop max, first at ${SUSTAINED_SEARCH.start}×, ${SUSTAINED_SEARCH.probes} rungs of ` +
        `${o.sustainedStepS} s; held = every status as expected, ≥ 98 % of the offered rate sent and median latency ≤ ` +
        `${o.sustainedP50Ms} ms. A closed loop (64 in flight) and a fixed rate reward batching differently; a deployment ` +
        'sees the fixed rate.',
    );
    L.push('');
    L.push(
      '| configuration | highest rate held (rps), median | per round | × OPA (per-round ratios, median) |',
    );
    L.push('|---|---:|---|---:|');
    const sr = new Map(rs.map((r) => [r.sigil, r.sustained]));
    for (const s of withSustained) {
      const x = s.config === 'opa' ? 1 : sr.get(s.config);
      L.push(
        `| ${CONFIG_LABEL[s.config]} | ${f(s.sustained!.rps, 0)} | ${s.sustained!.perRound.map((v) => f(v, 0)).join(' / ')} | ${x === undefined ? '–' : f(x)} |`,
      );
    }
    L.push('');
  }
  const withCpu = sum.filter((s) => s.cpuAtMax);
  if (withCpu.length > 0) {
    const rigCpu = run.options.cpu.envoy;
    const authzCpu = run.options.cpu.authorizer;
    L.push(
      `The same saturation phases seen from /proc/stat: the share of each CPU's time that went to any work (every process and ` +
        `the kernel, e.g. loopback network processing that per-process accounting charges to no one) and to steal (the ` +
        `hypervisor running other tenants while the vCPU wanted to run). A rig CPU near 100 % busy + steal is the ceiling.`,
    );
    L.push('');
    L.push(
      `| configuration | CPU ${rigCpu} (rig) busy | CPU ${rigCpu} steal | CPU ${authzCpu} (authorizer) busy | CPU ${authzCpu} steal |`,
    );
    L.push('|---|---:|---:|---:|---:|');
    const pct = (x: number) => `${f(x * 100, 0)} %`;
    for (const s of withCpu) {
      const c = s.cpuAtMax!;
      L.push(
        `| ${CONFIG_LABEL[s.config]} | ${pct(c.rig.busy)} | ${pct(c.rig.steal)} | ${pct(c.authz.busy)} | ${pct(c.authz.steal)} |`,
      );
    }
    L.push('');
  }
  const base = sum.find((s) => s.config === 'none');
  L.push(
    'Latency through Envoy (ms, client-side, all requests of the mix), and p99 added over (a) at the same rate:',
  );
  L.push('');
  L.push('| configuration | rate (rps) | achieved | p50 | p99 | p99.9 | p99 added over (a) |');
  L.push('|---|---:|---:|---:|---:|---:|---:|');
  for (const s of sum) {
    for (const l of s.latency) {
      const b = base?.latency.find((x) => x.rate === l.rate)?.p99;
      L.push(
        `| ${CONFIG_LABEL[s.config]} | ${l.rate} | ${f(l.achieved, 0)} | ${f(l.p50)} | ${f(l.p99)} | ${f(l.p999)} | ${s.config === 'none' || b === undefined ? '–' : f(l.p99 - b)} |`,
      );
    }
  }
  L.push('');
  // Envoy alone is the canary: when its own p99 is far above a millisecond or two, other work on the
  // machine was taking the CPU and every figure (and ratio) of the run carries that noise.
  const canary = base?.latency[0];
  if (canary && canary.p99 > 10) {
    L.push(
      `**Noisy run:** Envoy alone (a) had p99 ${f(canary.p99)} ms at ${canary.rate} rps (a quiet machine gives ~1–2 ms): ` +
        'other work was competing for the 2 cores, so latencies and throughput below carry that noise; ' +
        'CPU-seconds per request is the figure least affected.',
    );
    L.push('');
  }
  if (rs.length) {
    L.push(
      'Ratios SIGIL / OPA from this run, each computed within one round (back-to-back runs) and the median over rounds ' +
        `taken (targets: throughput ≥ 1.5×, p99 added latency over (a) at ${meta.refRate} rps ≤ 0.7×):`,
    );
    L.push('');
    L.push(
      '| SIGIL configuration | max throughput × | capacity per core × | p99 added × | CPU per request at max × | peak RSS × | anon RSS × | targets |',
    );
    L.push('|---|---:|---:|---:|---:|---:|---:|---|');
    for (const r of rs) {
      const okT = r.throughput >= 1.5;
      const okL = r.addedP99 <= 0.7;
      L.push(
        `| ${CONFIG_LABEL[r.sigil]} | ${f(r.throughput)} | ${f(1 / r.cpu)} | ${f(r.addedP99)} | ${f(r.cpu)} | ${f(r.rss)} | ${f(r.anonRss)} | throughput ${okT ? 'met' : 'NOT met'}, latency ${okL ? 'met' : 'NOT met'} |`,
      );
    }
    L.push('');
    L.push(
      '(depth-3 has no OPA equivalent: its row compares SIGIL verifying a 3-hop chain with OPA verifying one JWT.)',
    );
    L.push('');
  }
  const tails = tailRatios(run);
  if (tails.length > 0 && o.rates.length > 0) {
    L.push(
      "The tail at each fixed rate, × OPA's (per-round ratios, medians; issue #25's targets: p99 added over (a) ≤ 0.7×, " +
        'p99.9 ≤ 1.5×). The floor row is the tail a Node.js gRPC authorizer doing no work adds on this rig:',
    );
    L.push('');
    L.push(
      `| configuration | ${o.rates.map((r) => `p99 added × at ${r} rps`).join(' | ')} | ${o.rates.map((r) => `p99.9 × at ${r} rps`).join(' | ')} |`,
    );
    L.push(`|---|${o.rates.map(() => '---:').join('|')}|${o.rates.map(() => '---:').join('|')}|`);
    for (const t of tails)
      L.push(
        `| ${CONFIG_LABEL[t.config]} | ${t.byRate.map((b) => f(b.addedP99)).join(' | ')} | ${t.byRate.map((b) => f(b.p999)).join(' | ')} |`,
      );
    L.push('');
  }
  const ceiling = rigCeiling(run, meta.refRate);
  if (ceiling) {
    const reach = ceiling.floorVsOpa >= 1.5 ? 'within reach of' : 'above';
    L.push(
      `Rig ceiling: the floor (an authorizer that does no work, on SIGIL's transport) reached ${f(ceiling.floorVsOpa)}× OPA's max ` +
        `throughput (median of per-round ratios: ${ceiling.perRound.map((x) => f(x)).join(' / ')}). No authorizer can pass the floor on ` +
        `this rig, so the 1.5× throughput target is ${reach} what the rig allows. The floor answers each request as ` +
        `it comes; an authorizer that answers in batches (SIGIL's group commit) also leaves the rig idle while a batch ` +
        `is pending — compare the CPU table above` +
        (ceiling.sigilVsFloor !== undefined
          ? `; SIGIL (durable) reached ${f(100 * ceiling.sigilVsFloor, 0)} % of the floor's throughput.`
          : '.'),
    );
    if (ceiling.addedP99.length > 0) {
      L.push('');
      L.push(
        `The same floor's p99 added over (a) at ${meta.refRate} rps was ${f(median(ceiling.addedP99))}× OPA's (per round: ` +
          `${ceiling.addedP99.map((x) => f(x)).join(' / ')}): the tail a Node.js authorizer doing no work adds on this rig, ` +
          'against which the ≤ 0.7× latency target is set.',
      );
    }
    L.push('');
  }
  const disks = o.rates
    .map((rate) => durableFloor(run, rate))
    .filter((d): d is NonNullable<ReturnType<typeof durableFloor>> => d !== undefined);
  if (disks.length > 0) {
    const per = (xs: number[]) => (xs.length ? xs.map((x) => f(x)).join(' / ') : '–');
    L.push(
      `Durable floor: one LMDB commit + fsync on this disk, raw lmdb-js with no SIGIL code, pinned like the authorizer, ` +
        `${disks[0]!.seconds} s at each fixed rate after each round. Every durable decision waits for at least one such ` +
        "commit, so SIGIL's durable p99 added over (a) cannot be below the commit's p99 minus (a)'s own p99 (a lower " +
        "bound); the commit's p99 plus the no-work floor's median added over (a) estimates what the transport and one " +
        "commit add together before any SIGIL work. Budget: the latency target, 0.7 × OPA's p99 added. Per round where " +
        'there is more than one (ms; CPU: the probe process per commit, pacer included):',
    );
    L.push('');
    L.push(
      '| rate (commits/s) | commit p50 | commit p99 | CPU µs per commit | least p99 added | transport + commit | budget | |',
    );
    L.push('|---:|---:|---:|---:|---:|---:|---:|---|');
    for (const d of disks) {
      const least = median(d.leastAdded);
      const est = d.withTransport.length ? median(d.withTransport) : Number.NaN;
      const budget = median(d.budget);
      const verdict =
        least > budget
          ? 'one commit alone exceeds the budget'
          : est > budget
            ? 'transport + one commit exceed the budget'
            : 'fits the budget';
      L.push(
        `| ${d.rate} | ${f(d.commitP50)} | ${per(d.commitP99)} | ${f(d.cpuUs, 0)} | ${per(d.leastAdded)} | ${per(d.withTransport)} | ${per(d.budget)} | ${verdict} |`,
      );
    }
    L.push('');
  }
  const inside = insideSigil(run, meta.refRate);
  if (inside.length > 0) {
    L.push(
      `Inside SIGIL at ${meta.refRate} rps, from its own /metrics scraped after each phase (medians over rounds; ` +
        'percentiles are histogram bucket upper bounds): the Check pipeline including the ledger wait, the ledger group ' +
        'commit (LMDB commit + fsync; with the journal it runs behind the answer), decisions per commit, and V8 major GC pauses in the window:',
    );
    L.push('');
    L.push(
      '| configuration | Checks | Check p50 ≤ (ms) | Check p99 ≤ (ms) | commits | commit p99 ≤ (ms) | decisions per commit | major GCs | major GC pause total (ms) |',
    );
    L.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const x of inside) {
      L.push(
        `| ${CONFIG_LABEL[x.config]} | ${f(x.checks, 0)} | ${f(x.checkP50Ms, 2)} | ${f(x.checkP99Ms, 2)} | ${f(x.commits, 0)} | ` +
          `${f(x.commitP99Ms, 2)} | ${f(x.perCommit, 2)} | ${f(x.majorGcs, 0)} | ${f(x.majorGcMs, 0)} |`,
      );
    }
    L.push('');
  }
  if (o.configs.includes('sigil-w2')) {
    // Check workers (docs/sizing.md §6): the primary keeps the ledger sequencer; its share bounds the scaling.
    L.push(
      'Check workers: CPU per 1000 requests of all SIGIL processes and of the root process alone (with workers: the primary, ' +
        'which holds the one ledger sequencer; without: everything). "primary-bound rate" = 1000 ÷ the primary\'s CPU-s per ' +
        '1000 requests, the rate at which a fully busy primary core caps any number of workers.',
    );
    L.push('');
    L.push(
      '| configuration | all processes CPU-s / 1000 req | root process CPU-s / 1000 req | root share | primary-bound rate (rps) |',
    );
    L.push('|---|---:|---:|---:|---:|');
    for (const x of primaryShares(run)) {
      L.push(
        `| ${CONFIG_LABEL[x.config]} | ${f(x.totalPer1k, 3)} | ${f(x.primaryPer1k, 3)} | ${f(x.primaryPer1k / x.totalPer1k, 2)} | ` +
          `${x.config === 'sigil-w2' ? f(1000 / x.primaryPer1k, 0) : '–'} |`,
      );
    }
    L.push('');
  }
  L.push('<details><summary>Each round (run order within a round as listed)</summary>');
  L.push('');
  // SIGIL's full collections per fixed-rate window, from its /metrics: a round's p99 that is one pause shows here.
  L.push(
    `| round | configuration | max rps | p99 ms at ${o.rates.join(' / ')} rps | SIGIL full GCs (pause ms) at ${o.rates.join(' / ')} rps | authorizer CPU-s / 1000 req at max | peak RSS MiB |`,
  );
  L.push('|---:|---|---:|---:|---:|---:|---:|');
  for (const r of run.rounds) {
    const gcs = r.rates.some((p) => p.sigil)
      ? r.rates
          .map((p) => (p.sigil ? `${f(p.sigil.majorGcs, 0)} (${f(p.sigil.majorGcMs, 0)})` : '–'))
          .join(' / ')
      : '–';
    L.push(
      `| ${r.round + 1} | ${CONFIG_LABEL[r.config]} | ${f(r.saturation.throughput, 0)} | ${r.rates.map((p) => f(p.p99, 1)).join(' / ')} | ${gcs} | ` +
        `${r.config === 'none' ? '–' : f(cpuPer1kIn(r.saturation), 3)} | ${f(r.authzPeakRssMiB, 0)} |`,
    );
  }
  L.push('');
  L.push('</details>');
  L.push('');
  const problems = [
    ...run.failures.map(
      (x) => `${CONFIG_LABEL[x.config]}, round ${x.round + 1}: NOT MEASURED: ${x.error.split('\n')[0]}`,
    ),
    ...sum.flatMap((s) => s.problems.map((p) => `${CONFIG_LABEL[s.config]}, ${p}`)),
  ];
  L.push(
    problems.length
      ? `Problems found while loaded:\n\n${problems.map((p) => `- ${p}`).join('\n')}`
      : 'Correctness while loaded: every response had its expected status; every SIGIL ledger grew by exactly the number of requests SIGIL answered.',
  );
  L.push('');
  return L.join('\n');
}
