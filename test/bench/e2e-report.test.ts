/**
 * The e2e report's per-round ratios on synthetic rounds (no processes): a round whose baseline (a) was
 * noisier than OPA leaves OPA "nothing added", and that round must not produce a ratio.
 */
import { describe, expect, it } from 'vitest';
import {
  addedP99Ratio,
  durableFloor,
  primaryShares,
  ratios,
  renderMarkdown,
  rigCeiling,
  summarize,
  tailRatios,
} from '../../bench/e2e/lib/report.js';
import {
  type ConfigName,
  type ConfigRound,
  type PhaseResult,
  type RunResult,
  rateOrder,
  rungHeld,
  SUSTAINED_SEARCH,
  searchSustained,
} from '../../bench/e2e/lib/run.js';
import { cpuShares, parseProcStat } from '../../bench/e2e/lib/sampler.js';

const phase = (rate: number, p99: number, throughput = 1000): PhaseResult => ({
  rate,
  requests: 1000,
  ok: 1000,
  unexpected: 0,
  statuses: { '200': 1000 },
  cases: {},
  answered: 1000,
  spanS: 1,
  throughput,
  p50: p99 / 4,
  p99,
  p999: p99 * 2,
  max: p99 * 3,
  errorSamples: [],
  loadgenCpuS: 0.1,
  authzCpuS: 0.3,
  envoyCpuS: 0.2,
  upstreamCpuS: 0.1,
});

const round = (config: ConfigName, r: number, p99: number, maxRps: number): ConfigRound => ({
  config,
  round: r,
  saturation: phase(0, 50, maxRps),
  rates: [phase(1000, p99)],
  authzPeakRssMiB: config === 'none' ? undefined : 100,
  authzRssEnd: config === 'none' ? undefined : { anon: 60, file: 40 },
  unexpected: 0,
  envoyAuthz: { ok: 0, denied: 0, error: 0 },
  answered: 2000,
  problems: [],
});

/** The report of `r` as Markdown, with fixed header facts. */
const markdown = (r: RunResult): string =>
  renderMarkdown(r, summarize(r), {
    machine: 'test',
    cpuPlan: 'split',
    command: 'npm run bench:e2e',
    refRate: 1000,
    sigilRunner: 'test',
  });

function run(rounds: ConfigRound[]): RunResult {
  return {
    options: {
      outDir: '/nonexistent',
      rounds: 2,
      configs: ['none', 'grpc-floor', 'sigil', 'opa'],
      rates: [1000],
      warmupS: 1,
      saturationS: 1,
      rateS: 1,
      saturationWorkers: 8,
      sustainedStepS: 1,
      sustainedP50Ms: 10,
      cpu: { envoy: '0', upstream: '0', loadgen: '0', authorizer: '1', describe: 'split' },
    },
    started: '2026-11-27T00:00:00Z',
    rounds,
    failures: [],
  };
}

describe('e2e report ratios', () => {
  it('divides p99 added over (a) by OPA’s, within the round', () => {
    const none = round('none', 0, 1, 8000);
    expect(addedP99Ratio(round('sigil', 0, 4, 3000), round('opa', 0, 3, 2000), none, 1000)).toBe(1.5);
    // Without (a) in the round the baseline is 0.
    expect(addedP99Ratio(round('sigil', 0, 4, 3000), round('opa', 0, 2, 2000), undefined, 1000)).toBe(2);
  });

  it('gives no ratio for a round where OPA added nothing over (a)', () => {
    const none = round('none', 0, 3, 8000);
    expect(addedP99Ratio(round('sigil', 0, 5, 3000), round('opa', 0, 3, 2000), none, 1000)).toBeNaN();
    expect(addedP99Ratio(round('sigil', 0, 5, 3000), round('opa', 0, 2.5, 2000), none, 1000)).toBeNaN();
  });

  it('takes the median over the rounds that have a ratio, for SIGIL and for the floor alike', () => {
    const rs = [
      // Round 1: OPA added 2 ms, SIGIL 6 ms (3×), the floor 1 ms (0.5×).
      round('none', 0, 1, 8000),
      round('opa', 0, 3, 2000),
      round('sigil', 0, 7, 3000),
      round('grpc-floor', 0, 2, 4000),
      // Round 2: a noisy baseline — (a)'s p99 above OPA's; without the guard this round would give
      // SIGIL (9 − 10) / (4 − 10) ≈ 0.17× and pull the median down to ≈ 1.6×.
      round('none', 1, 10, 8000),
      round('opa', 1, 4, 2000),
      round('sigil', 1, 9, 3000),
      round('grpc-floor', 1, 5, 4000),
    ];
    const [sigil] = ratios(run(rs), 1000);
    expect(sigil?.sigil).toBe('sigil');
    expect(sigil?.addedP99).toBe(3);
    expect(sigil?.throughput).toBe(1.5);
    expect(sigil?.rounds).toBe(2);
    const ceiling = rigCeiling(run(rs), 1000);
    expect(ceiling?.addedP99[0]).toBe(0.5);
    expect(ceiling?.addedP99[1]).toBeNaN();
    expect(ceiling?.floorVsOpa).toBe(2);
  });
});

describe('per-CPU shares from /proc/stat', () => {
  // proc(5): cpuN user nice system idle iowait irq softirq steal guest guest_nice
  const before =
    'cpu  10 0 10 100 0 0 0 0 0 0\ncpu0 100 0 50 1000 10 5 20 0 0 0\ncpu1 10 0 5 2000 0 0 0 3 0 0\nintr 1 2 3\n';
  const after =
    'cpu  99 0 99 999 0 0 0 0 0 0\ncpu0 160 0 80 1010 10 5 50 10 0 0\ncpu1 70 0 15 2030 0 0 0 3 0 0\n';

  it('parses the per-CPU lines only, busy = user+nice+system+irq+softirq, idle = idle+iowait', () => {
    const t = parseProcStat(before);
    expect([...t.keys()]).toEqual(['0', '1']);
    expect(t.get('0')).toEqual({ busy: 175, idle: 1010, steal: 0 });
    expect(t.get('1')).toEqual({ busy: 15, idle: 2000, steal: 3 });
  });

  it('rejects short or non-numeric lines', () => {
    expect(parseProcStat('cpu0 1 2 3\ncpu1 a b c d e f g h\ncpuX 1 2 3 4 5 6 7 8').size).toBe(0);
  });

  it('turns two readings into shares of each CPU’s time', () => {
    const s = cpuShares(parseProcStat(before), parseProcStat(after));
    // CPU 0: +120 busy (60 user, 30 system, 30 softirq), +10 idle, +10 steal → 120/140, 10/140.
    expect(s['0']!.busy).toBeCloseTo(120 / 140, 10);
    expect(s['0']!.steal).toBeCloseTo(10 / 140, 10);
    // CPU 1: +70 busy, +30 idle, no steal.
    expect(s['1']).toEqual({ busy: 0.7, steal: 0 });
  });

  it('the report prints the rig and authorizer CPUs at max, medians over rounds', () => {
    const withShares = (r: ConfigRound, rig: number, authz: number): ConfigRound => ({
      ...r,
      saturation: {
        ...r.saturation,
        cpuShares: { '0': { busy: rig, steal: 0.05 }, '1': { busy: authz, steal: 0 } },
      },
    });
    const rs = [
      withShares(round('none', 0, 1, 8000), 0.99, 0.02),
      withShares(round('sigil', 0, 4, 3000), 0.97, 0.6),
      withShares(round('sigil', 1, 4, 3000), 0.91, 0.7),
      withShares(round('sigil', 2, 4, 3000), 0.95, 0.8),
      round('opa', 0, 3, 2000),
    ];
    const r = run(rs);
    const sigil = summarize(r).find((s) => s.config === 'sigil');
    expect(sigil?.cpuAtMax).toEqual({ rig: { busy: 0.95, steal: 0.05 }, authz: { busy: 0.7, steal: 0 } });
    // OPA's rounds carry no shares: no figures rather than zeros.
    expect(summarize(r).find((s) => s.config === 'opa')?.cpuAtMax).toBeUndefined();
    const md = markdown(r);
    expect(md).toContain('| CPU 0 (rig) busy | CPU 0 steal | CPU 1 (authorizer) busy | CPU 1 steal |');
    expect(md).toMatch(/\| \(b\) SIGIL, durable ledger \(sync\) \| 95 % \| 5 % \| 70 % \| 0 % \|/);
  });
});

describe('e2e report: each round', () => {
  it('prints SIGIL’s full collections in each fixed-rate window next to that window’s p99', () => {
    const sigilPhase = (majorGcs: number, majorGcMs: number) => ({
      checks: 1000,
      checkP50Ms: 1,
      checkP99Ms: 5,
      commits: 900,
      commitP99Ms: 2.5,
      perCommit: 1.1,
      majorGcs,
      majorGcMs,
    });
    const paused = round('sigil', 0, 44, 3000);
    paused.rates = [{ ...phase(1000, 44), sigil: sigilPhase(1, 47.4) }];
    const quiet = round('sigil', 1, 5, 3000);
    quiet.rates = [{ ...phase(1000, 5), sigil: sigilPhase(0, 0) }];
    const r = run([round('none', 0, 1, 8000), paused, quiet, round('opa', 0, 3, 2000)]);
    const md = markdown(r);
    expect(md).toContain('| SIGIL full GCs (pause ms) at 1000 rps |');
    expect(md).toMatch(/\| 1 \| \(b\) SIGIL, durable ledger \(sync\) \| 3000 \| 44\.0 \| 1 \(47\) \|/);
    expect(md).toMatch(/\| 2 \| \(b\) SIGIL, durable ledger \(sync\) \| 3000 \| 5\.0 \| 0 \(0\) \|/);
    // Rows without SIGIL's metrics (OPA, no authorizer) show a dash, not zeros.
    expect(md).toMatch(/\| 1 \| \(c\) OPA ext_authz \(opa-envoy-plugin path\) \| 2000 \| 3\.0 \| – \|/);
  });
});

describe('e2e sustained rate (open loop)', () => {
  it('a rung is held only with every status expected, ≥ 98 % of the rate sent and the median within bound', () => {
    const p = (o: Partial<PhaseResult>): PhaseResult => ({
      ...phase(2000, 20),
      requests: 2000,
      spanS: 1,
      p50: 3,
      ...o,
    });
    expect(rungHeld(p({}), 2000, 10)).toBe(true);
    expect(rungHeld(p({ requests: 1959 }), 2000, 10)).toBe(false); // 97.95 % sent
    expect(rungHeld(p({ requests: 1960 }), 2000, 10)).toBe(true);
    expect(rungHeld(p({ p50: 10.01 }), 2000, 10)).toBe(false);
    expect(rungHeld(p({ unexpected: 1 }), 2000, 10)).toBe(false);
    expect(rungHeld(p({ spanS: 0 }), 2000, 10)).toBe(false);
  });

  it('bisects to within one rate step of a server’s true capacity, in at most the configured rungs', async () => {
    for (const capacity of [0, 700, 1234, 2000, 2999, 3100, 4000, 9999]) {
      const probed: number[] = [];
      const got = await searchSustained(2500, async (rate) => {
        probed.push(rate);
        return { rate, achieved: rate, p50: 1, p99: 2, pass: rate <= capacity };
      });
      expect(got.rungs.map((r) => r.rate)).toEqual(probed);
      expect(probed.length).toBeLessThanOrEqual(SUSTAINED_SEARCH.probes);
      expect(probed[0]).toBe(1250); // start × max
      // Never claims more than the server held; below the top, within the resolution 5 rungs give.
      expect(got.rps).toBeLessThanOrEqual(capacity);
      const top = SUSTAINED_SEARCH.top * 2500;
      if (capacity < top) expect(capacity - got.rps, `capacity ${capacity}`).toBeLessThan(top / 2 ** 4 + 50);
      for (const r of probed) expect(r > 0 && r < top).toBe(true);
    }
  });

  it('reports the median held rate per configuration and the per-round SIGIL / OPA ratio', () => {
    const held = (r: ConfigRound, rps: number): ConfigRound => ({
      ...r,
      sustained: { rps, rungs: [{ rate: rps, achieved: rps, p50: 2, p99: 9, pass: true }] },
    });
    const rs = [
      held(round('sigil', 0, 5, 3000), 3000),
      held(round('opa', 0, 4, 2000), 2000),
      held(round('sigil', 1, 5, 3000), 2400),
      held(round('opa', 1, 4, 2000), 3000),
    ];
    const r = run(rs);
    r.options.configs = ['sigil', 'opa'];
    const sum = summarize(r);
    expect(sum.find((x) => x.config === 'sigil')?.sustained).toEqual({ rps: 2700, perRound: [3000, 2400] });
    // Per round 1.5 and 0.8: the median of the ratios, not the ratio of the medians (2700 / 2500).
    expect(ratios(r, 1000)[0]?.sustained).toBeCloseTo(1.15, 10);
    const md = renderMarkdown(r, sum, {
      machine: 'm',
      cpuPlan: 'p',
      command: 'c',
      refRate: 1000,
      sigilRunner: 'node',
    });
    expect(md).toContain('| (b) SIGIL, durable ledger (sync) | 2700 | 3000 / 2400 | 1.15 |');
    expect(md).toContain('| (c) OPA ext_authz (opa-envoy-plugin path) | 2500 | 2000 / 3000 | 1.00 |');
  });

  it('leaves the table out when the run skipped the search', () => {
    const r = run([round('sigil', 0, 5, 3000), round('opa', 0, 4, 2000)]);
    r.options.configs = ['sigil', 'opa'];
    const sum = summarize(r);
    expect(sum[0]?.sustained).toBeUndefined();
    expect(ratios(r, 1000)[0]?.sustained).toBeNaN();
    expect(
      renderMarkdown(r, sum, { machine: 'm', cpuPlan: 'p', command: 'c', refRate: 1000, sigilRunner: 'n' }),
    ).not.toContain('Sustained rate');
  });
});

describe('e2e report: durable floor (the disk’s share of the latency budget)', () => {
  const probe = (round: number, p99: number, rate = 1000) => ({
    round,
    rate,
    seconds: 8,
    n: 8000,
    p50: 0.4,
    p99,
    p999: p99 * 2,
    max: p99 * 3,
    over5: 0,
    cpuUs: 120,
  });
  // (a) p99 1 ms, OPA 4 ms: OPA adds 3 ms, so the budget is 0.7 × 3 = 2.1 ms in each round.
  const rs = [
    round('none', 0, 1, 8000),
    round('opa', 0, 4, 2000),
    round('none', 1, 1, 8000),
    round('opa', 1, 4, 2000),
  ];

  it('bounds the durable p99 added by the commit p99 minus (a)’s, per round, against 0.7 × OPA’s added', () => {
    const r = { ...run(rs), durableCommits: [probe(0, 5), probe(1, 4)] };
    const d = durableFloor(r, 1000);
    expect(d?.commitP99).toEqual([5, 4]);
    expect(d?.leastAdded).toEqual([4, 3]);
    expect(d?.budget[0]).toBeCloseTo(2.1, 10);
    expect(d?.budget[1]).toBeCloseTo(2.1, 10);
    expect(d?.withTransport).toEqual([]);
    const md = markdown(r);
    expect(md).toContain(
      '| 1000 | 0.40 | 5.00 / 4.00 | 120 | 4.00 / 3.00 | – | 2.10 / 2.10 | one commit alone exceeds the budget |',
    );
  });

  it('adds the floor’s median over (a) to the commit p99, and says when that is over the budget', () => {
    // The floor's p50 at 1000 rps is p99 / 4 = 0.5 ms, (a)'s 0.25 ms: the transport adds 0.25 ms at the median.
    const withFloor = [...rs, round('grpc-floor', 0, 2, 6000), round('grpc-floor', 1, 2, 6000)];
    const over = { ...run(withFloor), durableCommits: [probe(0, 2), probe(1, 2)] };
    expect(durableFloor(over, 1000)?.withTransport).toEqual([2.25, 2.25]);
    expect(markdown(over)).toContain(
      '| 2.25 / 2.25 | 2.10 / 2.10 | transport + one commit exceed the budget |',
    );
    const fits = { ...run(withFloor), durableCommits: [probe(0, 1.5), probe(1, 1.5)] };
    expect(markdown(fits)).toContain('| 1.75 / 1.75 | 2.10 / 2.10 | fits the budget |');
  });

  it('leaves the paragraph out without probes, or with probes at another rate or rounds without (a) and OPA', () => {
    expect(durableFloor(run(rs), 1000)).toBeUndefined();
    expect(durableFloor({ ...run(rs), durableCommits: [probe(0, 5, 500)] }, 1000)).toBeUndefined();
    expect(durableFloor({ ...run(rs), durableCommits: [probe(2, 5)] }, 1000)).toBeUndefined();
    expect(markdown(run(rs))).not.toContain('Durable floor');
  });
});

describe('e2e run: the fixed-rate windows’ order', () => {
  it('rotates from round to round, so each rate takes each position once every len(rates) rounds', () => {
    const rates = [250, 500, 1000];
    const orders = [0, 1, 2, 3].map((r) => rateOrder(rates, r));
    expect(orders).toEqual([
      [250, 500, 1000],
      [1000, 250, 500],
      [500, 1000, 250],
      [250, 500, 1000],
    ]);
    // Every round runs every rate exactly once.
    for (const o of orders) expect([...o].sort((a, b) => a - b)).toEqual(rates);
    // Over three rounds, 1000 rps is last, first and in the middle.
    expect(orders.slice(0, 3).map((o) => o.indexOf(1000))).toEqual([2, 0, 1]);
    expect(rateOrder([100], 5)).toEqual([100]);
  });
});

describe('e2e report: capacity is measured at saturation', () => {
  it('takes CPU per request from the saturation phase alone, and lists each fixed rate apart', () => {
    // Saturation: 0.2 CPU-s for 1000 requests (0.2 ms each); at 1000 rps an idle-heavy 0.6 CPU-s for 1000.
    const sigil = round('sigil', 0, 5, 3000);
    sigil.saturation.authzCpuS = 0.2;
    sigil.rates[0]!.authzCpuS = 0.6;
    const opa = round('opa', 0, 3, 2000);
    opa.saturation.authzCpuS = 0.3;
    opa.rates[0]!.authzCpuS = 0.5;
    const r = run([round('none', 0, 1, 8000), sigil, opa]);
    const s = summarize(r).find((x) => x.config === 'sigil');
    // Averaged over both phases it would be 0.4: the low-rate phase's fixed costs are not capacity.
    expect(s?.cpuPer1k).toBeCloseTo(0.2, 9);
    expect(s?.cpuPer1kAt).toEqual([{ rate: 1000, per1k: expect.closeTo(0.6, 9) }]);
    expect(summarize(r).find((x) => x.config === 'none')?.cpuPer1kAt).toBeUndefined();
    const [ratio] = ratios(r, 1000);
    expect(ratio?.cpu).toBeCloseTo(2 / 3, 9);
    const md = markdown(r);
    // 1000 / 0.2 CPU-s per 1000 requests: 5000 rps per core.
    expect(md).toContain('| (b) SIGIL, durable ledger (sync) | 3000 [3000–3000] | 0.200 | 5000 |');
    expect(md).toContain('| (b) SIGIL, durable ledger (sync) | 200 (0.67×) | 600 (1.20×) |');
    expect(md).toContain('| (c) OPA ext_authz (opa-envoy-plugin path) | 300 | 500 |');
  });

  it('gives the tail ratios to OPA at every rate, for SIGIL and the floor', () => {
    const at = (c: ConfigName, r: number, p99at250: number, p99at1000: number): ConfigRound => {
      const x = round(c, r, p99at1000, 3000);
      x.rates = [phase(250, p99at250), phase(1000, p99at1000)];
      return x;
    };
    const r = run([
      at('none', 0, 1, 1),
      at('opa', 0, 3, 5),
      at('sigil', 0, 2, 9),
      at('grpc-floor', 0, 1.5, 3),
    ]);
    r.options.rates = [250, 1000];
    const t = tailRatios(r);
    expect(t.map((x) => x.config)).toEqual(['grpc-floor', 'sigil']);
    const sigil = t.find((x) => x.config === 'sigil');
    // p99 added: (2 − 1) / (3 − 1) at 250, (9 − 1) / (5 − 1) at 1000; p99.9 is 2 × p99 on both sides.
    expect(sigil?.byRate).toEqual([
      { rate: 250, addedP99: 0.5, p999: 2 / 3 },
      { rate: 1000, addedP99: 2, p999: 9 / 5 },
    ]);
    expect(markdown(r)).toContain('| (b) SIGIL, durable ledger (sync) | 0.50 | 2.00 | 0.67 | 1.80 |');
  });
});

describe('e2e report: Check workers (sigil-w2)', () => {
  it('medians of all-process and root-process CPU per 1000 requests, and the primary-bound rate', () => {
    const w2 = (r: number, primary: number): ConfigRound => {
      const x = round('sigil-w2', r, 5, 3000);
      // Two phases of 1000 answered each: 0.3 + 0.3 CPU-s in all, `primary` of each in the root process.
      x.saturation.primaryCpuS = primary;
      x.rates[0]!.primaryCpuS = primary;
      return x;
    };
    const r = run([round('sigil', 0, 5, 3000), w2(0, 0.05), w2(1, 0.1)]);
    r.options.configs = ['sigil', 'sigil-w2'];
    const [single, workers] = primaryShares(r);
    expect(single).toMatchObject({ config: 'sigil', totalPer1k: 0.3 });
    expect(single!.primaryPer1k).toBeNaN();
    expect(workers).toMatchObject({ config: 'sigil-w2', totalPer1k: 0.3 });
    expect(workers!.primaryPer1k).toBeCloseTo(0.075, 9);
    expect(markdown(r)).toContain(
      '| (b) SIGIL, 2 Check workers, durable (sync) | 0.300 | 0.075 | 0.25 | 13333 |',
    );
    // Without sigil-w2 in the run the table is left out.
    expect(markdown(run([round('sigil', 0, 5, 3000)]))).not.toContain('primary-bound rate');
  });
});
