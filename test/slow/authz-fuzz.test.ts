/**
 * The long authz fuzz run (issue #18; `npm run test:slow`): the coverage-guided loop of
 * test/support/fuzz/harness.ts over the seed corpus, through the real Check with the built-in policy and with an
 * OPA-compiled Wasm bundle, for SIGIL_FUZZ_SECONDS (default 600) — no wrong allow, no crash, no unstable code,
 * no Check over SIGIL_FUZZ_MAX_MS (default 1000). SIGIL_FUZZ_SEED picks the run (default: the time); a failure
 * is minimized and written under SIGIL_FUZZ_OUT (default <tmpdir>/sigil-fuzz-failures), the error names the file.
 * SIGIL_FUZZ_REPLAY=<file> judges one written input instead.
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEEDS } from '../support/fuzz/corpus.js';
import { failureOf, fuzz, makeTargets } from '../support/fuzz/harness.js';
import { parseInput } from '../support/fuzz/input.js';

const seconds = Number(process.env.SIGIL_FUZZ_SECONDS ?? 600);
const maxMs = Number(process.env.SIGIL_FUZZ_MAX_MS ?? 1000);
const seed = Number(process.env.SIGIL_FUZZ_SEED ?? Date.now() % 2 ** 31);
const replay = process.env.SIGIL_FUZZ_REPLAY;

let env: Awaited<ReturnType<typeof makeTargets>>;
beforeAll(async () => {
  env = await makeTargets(true);
});
afterAll(() => env.close());

describe('authz fuzzer', () => {
  it.runIf(replay !== undefined)('replays a written input', async () => {
    const text = readFileSync(replay!, 'utf8');
    const input = parseInput(text.slice(text.indexOf('\n') + 1));
    for (const t of env.targets) expect(await failureOf(t, input, env.token, maxMs)).toBeUndefined();
  });

  it.runIf(replay === undefined)(
    `runs ${seconds} s without a wrong allow`,
    async () => {
      const stats = await fuzz({
        seeds: SEEDS.map((s) => s.input),
        targets: env.targets,
        token: env.token,
        seed,
        seconds,
        maxMs,
        outDir: process.env.SIGIL_FUZZ_OUT ?? join(tmpdir(), 'sigil-fuzz-failures'),
        log: (line) => console.log(line),
      });
      console.log(`fuzz seed ${seed}: ${JSON.stringify(stats)}`);
      expect(stats.seconds).toBeGreaterThanOrEqual(seconds * 0.95);
      expect(stats.corpus).toBeGreaterThan(SEEDS.length);
    },
    (seconds + 300) * 1000,
  );
});
