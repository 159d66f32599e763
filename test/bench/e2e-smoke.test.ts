/**
 * CI smoke run of the end-to-end benchmark harness (bench/e2e.ts --smoke): real Envoy, real SIGIL,
 * the real opa-envoy-plugin, the Go upstream and vegeta, with a tiny load for a few seconds. The figures are
 * meaningless at this size; what is asserted is that the harness still works end to end: every
 * configuration produced figures, every response had its expected status (allow 200, forged token
 * 401, out-of-scope tool 403), and each SIGIL ledger grew by exactly the number of requests SIGIL
 * answered. Tools come from `bash scripts/setup-tools.sh` (run by `npm run test:bench`; CI runs it after `npm test`).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigSummary } from '../../bench/e2e/lib/report.js';
import type { RunResult } from '../../bench/e2e/lib/run.js';

const root = resolve(import.meta.dirname, '..', '..');
const tools = join(root, '.tools', 'bin');
const run = promisify(execFile);

const needed = ['envoy', 'vegeta', 'bench-upstream'];
const missing = needed.filter((t) => !existsSync(join(tools, t)));
const haveOpa = existsSync(join(tools, 'opa-envoy-plugin'));
if (!haveOpa) {
  // Loud on purpose: the comparison is the point of the harness.
  console.warn(
    '\n*** bench e2e smoke: .tools/bin/opa-envoy-plugin is MISSING: configuration (c) OPA is SKIPPED. Run bash scripts/setup-tools.sh ***\n',
  );
}
const configs = [
  'none',
  'grpc-floor',
  'sigil',
  'sigil-fast',
  'sigil-journal',
  'sigil-depth3',
  ...(haveOpa ? ['opa'] : []),
];

describe.skipIf(missing.length > 0)('bench:e2e smoke (real Envoy, SIGIL, OPA, vegeta)', () => {
  let out: string;
  let result: { run: RunResult; summary: ConfigSummary[] };
  let stdout = '';

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'sigil-bench-e2e-'));
    const r = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        join(root, 'bench', 'e2e.ts'),
        '--smoke',
        '--skip-setup',
        '--no-write',
        '--out',
        out,
        '--configs',
        configs.join(','),
      ],
      { cwd: root, maxBuffer: 16 << 20, timeout: 170_000 },
    ).catch((e: { stdout?: string; stderr?: string; message: string }) => {
      // A failed correctness check exits 1 but still writes result.json: keep going and assert on it.
      return { stdout: e.stdout ?? '', stderr: `${e.stderr ?? ''}\n${e.message}` };
    });
    stdout = r.stdout;
    const file = join(out, 'result.json');
    if (!existsSync(file)) throw new Error(`harness wrote no result.json:\n${r.stderr.slice(-4000)}`);
    result = JSON.parse(readFileSync(file, 'utf8'));
  }, 180_000);

  afterAll(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('measured every configuration, with figures', () => {
    expect(result.run.failures).toEqual([]);
    expect(result.summary.map((s) => s.config)).toEqual(configs);
    for (const s of result.summary) {
      expect(s.maxRps, s.config).toBeGreaterThan(0);
      for (const l of s.latency) expect(l.p99, `${s.config} @${l.rate}`).toBeGreaterThan(0);
      if (s.config !== 'none') expect(s.cpuPer1k, s.config).toBeGreaterThan(0);
    }
  });

  it('every response had its expected status, under load', () => {
    for (const r of result.run.rounds) {
      // Includes the identity probe: the upstream saw the x-sigil-sub header the authorizer added.
      expect(r.problems, r.config).toEqual([]);
      const phases = [r.saturation, ...r.rates];
      expect(r.unexpected, `${r.config}: ${r.problems.join('; ')}`).toBe(0);
      for (const p of phases) {
        expect(p.requests, r.config).toBeGreaterThan(0);
        if (r.config === 'none') expect(Object.keys(p.statuses), r.config).toEqual(['200']);
        else expect(Object.keys(p.statuses).sort(), r.config).toEqual(['200', '401', '403']);
      }
    }
  });

  it('each SIGIL ledger grew by exactly the number of requests SIGIL answered', () => {
    const sigilRounds = result.run.rounds.filter((r) => r.config.startsWith('sigil'));
    // sigil, sigil-fast, sigil-journal, sigil-depth3: one round each.
    expect(sigilRounds.length).toBe(configs.filter((c) => c.startsWith('sigil')).length);
    expect(sigilRounds.length).toBe(4);
    for (const r of sigilRounds) {
      expect(r.answered, r.config).toBeGreaterThan(0);
      expect(r.ledger, r.config).toBeDefined();
      expect(r.ledger!.after - r.ledger!.before, r.config).toBe(r.answered);
      // Envoy's own counters agree with the load generator's count.
      expect(r.envoyAuthz.ok + r.envoyAuthz.denied, r.config).toBe(r.answered);
      // SIGIL's own /metrics for the fixed-rate phase: it counted the Checks Envoy sent in that phase
      // (give or take the scrape racing the last answers) and committed them.
      const rate = r.rates[0]!;
      expect(rate.sigil, r.config).toBeDefined();
      expect(rate.sigil!.checks, r.config).toBeGreaterThanOrEqual(rate.answered - 5);
      expect(rate.sigil!.checks, r.config).toBeLessThanOrEqual(rate.answered + 5);
      expect(rate.sigil!.commits, r.config).toBeGreaterThan(0);
      expect(rate.sigil!.perCommit, r.config).toBeGreaterThanOrEqual(1);
    }
  });

  it('searched the sustained (open-loop) rate after saturation and printed it', () => {
    for (const r of result.run.rounds) {
      const sus = r.sustained;
      expect(sus, r.config).toBeDefined();
      expect(sus!.rungs.length, r.config).toBeGreaterThan(0);
      // A bisection: the held rate is the highest rung that passed, and every rung that failed lies above it.
      const passed = sus!.rungs.filter((x) => x.pass).map((x) => x.rate);
      expect(sus!.rps, r.config).toBe(passed.length ? Math.max(...passed) : 0);
      for (const x of sus!.rungs.filter((y) => !y.pass)) expect(x.rate, r.config).toBeGreaterThan(sus!.rps);
    }
    expect(stdout).toMatch(/Sustained rate \(open loop\)/);
    expect(stdout).toMatch(/\| \(b\) SIGIL, durable ledger \(sync\) \| \d+ \| \d+ \|/);
  });

  it('timed raw durable LMDB commits after the round, on the ledgers’ disk, and printed the durable floor', () => {
    // Smoke: the reference rate is the only rate, 100 writes/s for 1 s.
    expect(result.run.durableCommits).toHaveLength(1);
    const probe = result.run.durableCommits![0]!;
    expect(probe).toMatchObject({ round: 0, rate: 100, seconds: 1, n: 100 });
    expect(probe.p50).toBeGreaterThan(0);
    expect(probe.p99).toBeGreaterThanOrEqual(probe.p50);
    if (haveOpa) {
      expect(stdout).toMatch(/Durable floor: one LMDB commit \+ fsync on this disk/);
      // The row of the smoke's one rate: commit p50, p99 and CPU per commit measured, and a verdict.
      expect(stdout).toMatch(/\| 100 \| \d+\.\d\d \| \d+\.\d\d \| \d+ \| .* \| (one commit|transport|fits)/);
      expect(probe.cpuUs).toBeGreaterThan(0);
    }
  });

  it('prints the machine line and the SIGIL / OPA ratios', () => {
    expect(stdout).toMatch(/Machine: nproc=\d+, CPU: /);
    // Pinned runs (two or more CPUs) also show each CPU's busy and steal share at max from /proc/stat.
    if (/CPU placement: taskset/.test(stdout)) {
      expect(stdout).toMatch(/\| configuration \| CPU \d+ \(rig\) busy \| CPU \d+ steal \|/);
      expect(stdout).toMatch(
        /\| \(b\) SIGIL, durable ledger \(sync\) \| \d+ % \| \d+ % \| \d+ % \| \d+ % \|/,
      );
    }
    if (haveOpa) {
      expect(stdout).toMatch(/Ratios SIGIL \/ OPA from this run/);
      // The floor ran too: the report states the rig's ceiling as a multiple of OPA's throughput.
      expect(stdout).toMatch(/Rig ceiling: the floor .* reached \d+\.\d\d× OPA's max throughput/);
    }
  });
});
