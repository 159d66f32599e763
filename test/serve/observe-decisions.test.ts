/**
 * The decision hook `sigil serve` installs: Prometheus counters stay exact while deny log lines are
 * rate-limited per code, with a "suppressed" tally line (issue #18 item 8).
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/admin/index.js';
import type { DecisionEvent } from '../../src/authz/index.js';
import { createLogRateLimit } from '../../src/serve/log-rate-limit.js';
import { observeDecisions } from '../../src/serve/observe-decisions.js';

const event = (decision: 'allow' | 'deny', code: string, i: number): DecisionEvent => ({
  record: { id: `d-${i}`, decision, code, http_status: decision === 'deny' ? 401 : 200 } as never,
  receipt: undefined,
  cacheHit: undefined,
  seconds: 0.0001,
});

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
  return { lines, logger };
}

async function count(metrics: ReturnType<typeof createMetrics>, result: string, code: string) {
  const { values } = await metrics.decisions.get();
  return values.find((v) => v.labels.result === result && v.labels.code === code)?.value ?? 0;
}

describe('observeDecisions', () => {
  it('10,000 denies: the counter reads exactly 10,000, the log gets a bounded number of lines', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const { lines, logger } = capture();
    const observe = observeDecisions(metrics, logger, { denyLinesPerSecond: 10, reportMs: 20 });
    const t0 = performance.now();
    for (let i = 0; i < 10_000; i++) observe(event('deny', 'TBIT_MALFORMED', i));
    observe(event('deny', 'AUTHZ_TOOL_NOT_IN_SCOPE', 10_000)); // another code keeps its own budget
    const seconds = (performance.now() - t0) / 1000;
    expect(await count(metrics, 'deny', 'TBIT_MALFORMED')).toBe(10_000);
    expect(await count(metrics, 'deny', 'AUTHZ_TOOL_NOT_IN_SCOPE')).toBe(1);
    const denies = lines.filter((l) => l.msg === 'deny' && l.code === 'TBIT_MALFORMED');
    expect(denies.length).toBeGreaterThanOrEqual(10);
    expect(denies.length).toBeLessThanOrEqual(10 + Math.ceil(seconds * 10) + 1);
    expect(lines.filter((l) => l.msg === 'deny' && l.code === 'AUTHZ_TOOL_NOT_IN_SCOPE')).toHaveLength(1);
    // The tally arrives even though the flood has stopped, and accounts for every line not written.
    await new Promise((r) => setTimeout(r, 60));
    const tallies = lines.filter((l) => l.msg === 'deny lines suppressed (rate limit)');
    expect(tallies).toEqual([expect.objectContaining({ code: 'TBIT_MALFORMED', level: 40 })]);
    expect(tallies[0]!.suppressed).toBe(10_000 - denies.length);
    expect(lines.length).toBeLessThan(50);
  });

  it('allows stay at debug and are never rate-limited away from the counters', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const { lines, logger } = capture();
    const observe = observeDecisions(metrics, logger);
    for (let i = 0; i < 1000; i++) observe(event('allow', 'OK', i));
    expect(await count(metrics, 'allow', 'OK')).toBe(1000);
    expect(lines).toEqual([]);
  });
});

describe('createLogRateLimit', () => {
  it('refills at perSecond up to burst, per key, and reports what it dropped', () => {
    let now = 0;
    const reports: Array<[string, number]> = [];
    const take = createLogRateLimit({
      perSecond: 2,
      burst: 3,
      now: () => now,
      reportMs: 1e9,
      onSuppressed: (k, n) => reports.push([k, n]),
    });
    expect([take('a'), take('a'), take('a'), take('a')]).toEqual([true, true, true, false]);
    expect(take('b')).toBe(true);
    now = 499;
    expect(take('a')).toBe(false);
    now = 500;
    expect([take('a'), take('a')]).toEqual([true, false]);
    now = 100_000; // a long quiet spell refills to burst, not beyond
    expect([take('a'), take('a'), take('a'), take('a')]).toEqual([true, true, true, false]);
    expect(reports).toEqual([]); // the timer has not fired yet
  });

  it('bounds the keys it keeps: codes past the limit share one bucket', () => {
    const take = createLogRateLimit({ perSecond: 1, now: () => 0, reportMs: 1e9, onSuppressed: () => {} });
    for (let i = 0; i < 1000; i++) expect(take(`code-${i}`)).toBe(true);
    expect(take('late-1')).toBe(true);
    expect(take('late-2')).toBe(false);
  });

  it('Check timings resolve the 1–5 ms range a p99 target lives in (buckets at 1.5, 2, 3, 4 ms)', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const observe = observeDecisions(metrics, pino({ level: 'silent' }));
    for (const seconds of [0.0018, 0.0018, 0.0035]) observe({ ...event('allow', 'OK', 0), seconds });
    const { values } = await metrics.checkSeconds.get();
    const labels = (v: { labels: object }) => v.labels as { le?: number; result?: string };
    const le = (bound: number) =>
      values.find(
        (v) =>
          v.metricName === 'sigil_check_duration_seconds_bucket' &&
          labels(v).le === bound &&
          labels(v).result === 'allow',
      )?.value;
    expect([le(0.0015), le(0.002), le(0.003), le(0.004), le(0.005)]).toEqual([0, 2, 2, 3, 3]);
    const commits = (await metrics.ledgerCommitSeconds.get()).values.map((v) => labels(v).le);
    expect(commits).toContain(0.0015);
    expect(commits).not.toContain(0.00005);
  });
});
