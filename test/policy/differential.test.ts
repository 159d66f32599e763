/**
 * Differential test against the REAL opa-envoy-plugin (issue #19): for every policy of
 * test/fixtures/differential/, the same generated CheckRequests go over gRPC to the plugin binary
 * (.tools/bin/opa-envoy-plugin, built by scripts/setup-tools.sh) running the Rego, and to SIGIL's authz server
 * running the same Rego compiled to Wasm by the real `opa build`. Allowed/denied, status, headers added and
 * removed, query changes, body and dynamic metadata must agree, except for the deliberate differences listed in
 * test/support/differential/deliberate.ts (docs/policy.md's table).
 *
 * Fixed seed and a modest count here; test/slow/differential.test.ts runs thousands per policy. On failure the
 * classes of disagreement with their counts and the first disagreements field by field are printed.
 * Env: SIGIL_DIFF_SEED, SIGIL_DIFF_COUNT override the seed and the per-policy count; SIGIL_DIFF_REPORT=<dir>
 * also writes every policy's report there (differential.txt, differential.jsonl).
 */
import { describe, expect, it } from 'vitest';
import { diffCorpus, missingBuiltinCoverage } from '../support/differential/corpus.js';
import { emitReport, formatReport, runPolicy, startPair } from '../support/differential/run.js';
import { missingTools } from '../support/differential/servers.js';

const SEED = Number(process.env.SIGIL_DIFF_SEED ?? 19);
const COUNT = Number(process.env.SIGIL_DIFF_COUNT ?? 150);
const missing = missingTools();
if (missing) console.warn(`\n*** differential test SKIPPED: ${missing} ***\n`);

describe.skipIf(missing !== undefined)('the corpus', () => {
  it("uses every builtin SIGIL provides to Wasm (its own host builtins and opa-wasm's)", () => {
    expect(diffCorpus().length).toBeGreaterThanOrEqual(10);
    expect(missingBuiltinCoverage()).toEqual([]);
  });
});

describe.skipIf(missing !== undefined)('SIGIL vs the real opa-envoy-plugin, same Rego, same requests', () => {
  for (const file of diffCorpus()) {
    it(`${file.split('/').at(-1)}: every generated request answered alike (seed ${SEED}, ${COUNT} cases)`, async () => {
      const pair = await startPair(file);
      try {
        const report = await runPolicy(pair, { seed: SEED, count: COUNT });
        emitReport(report);
        expect(report.cases).toBe(COUNT);
        expect(report.classes, formatReport(report)).toEqual({});
      } finally {
        await pair.close();
      }
    }, 60_000);
  }
});
