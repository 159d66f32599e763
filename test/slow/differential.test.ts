/**
 * The long differential run against the real opa-envoy-plugin (the default suite's
 * test/policy/differential.test.ts with thousands of requests per policy and two more seeds).
 * Env: SIGIL_DIFF_COUNT (default 3000 per policy and seed), SIGIL_DIFF_REPORT=<dir> (see the default test).
 */
import { describe, expect, it } from 'vitest';
import { diffCorpus } from '../support/differential/corpus.js';
import { emitReport, formatReport, runPolicy, startPair } from '../support/differential/run.js';
import { missingTools } from '../support/differential/servers.js';

const COUNT = Number(process.env.SIGIL_DIFF_COUNT ?? 3000);
const SEEDS = [1919, 20260801];
const missing = missingTools();
if (missing) console.warn(`\n*** slow differential test SKIPPED: ${missing} ***\n`);

describe.skipIf(missing !== undefined)('SIGIL vs the real opa-envoy-plugin, long run', () => {
  for (const file of diffCorpus()) {
    it(`${file.split('/').at(-1)}: ${COUNT} requests × seeds ${SEEDS.join(', ')} answered alike`, async () => {
      const pair = await startPair(file);
      try {
        const reports = [];
        for (const seed of SEEDS) {
          const report = await runPolicy(pair, { seed, count: COUNT, samples: 10 });
          emitReport(report);
          reports.push(report);
        }
        for (const report of reports) {
          expect(report.cases).toBe(COUNT);
          expect(report.classes, formatReport(report)).toEqual({});
        }
      } finally {
        await pair.close();
      }
    });
  }
});
