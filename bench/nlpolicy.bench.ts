/**
 * `npm run bench:nlpolicy`: controlled-English compile time (docs/policy-language.md). Compiles every corpus
 * policy (test/fixtures/nlpolicy/corpus.yaml) and reports the time per sentence, then a 100-sentence policy made
 * of the corpus sentences that compile together (padded with templated allow/deny sentences). Only `compilePolicy`
 * is timed (parse, Rego, tests, explanation) — not `opa check`/`opa test`/`opa build`, which the admin API's
 * activate and `sigil policy compile --build` run after it. Prints machine info. `--rounds N` (default 200).
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { compilePolicy } from '../src/nlpolicy/index.js';

const ROOT = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const ROUNDS = (() => {
  const i = args.indexOf('--rounds');
  return i >= 0 ? Number(args[i + 1]) : 200;
})();

const corpus = parse(readFileSync(resolve(ROOT, 'test/fixtures/nlpolicy/corpus.yaml'), 'utf8')) as {
  policy: string;
}[];

/** Sentences of a policy text: a period ends a sentence when whitespace or the end follows (tool names keep theirs). */
const sentencesOf = (text: string): string[] =>
  text
    .split(/\.(?=\s|$)/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => `${s}.`);

const quantile = (sorted: number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

/** Median µs of compiling `text`, over ROUNDS runs after a warm-up. */
function timeCompile(text: string): number {
  for (let i = 0; i < 20; i++) compilePolicy(text);
  const runs: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t = process.hrtime.bigint();
    compilePolicy(text);
    runs.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  runs.sort((a, b) => a - b);
  return quantile(runs, 0.5);
}

console.log(
  `machine: nproc=${cpus().length} cpu="${cpus()[0]?.model.trim() ?? '?'}" node=${process.version} load=${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} (shared machine); median of ${ROUNDS} rounds each`,
);

// 1. Every corpus policy, time per sentence.
const perSentence: number[] = [];
for (const { policy } of corpus) perSentence.push(timeCompile(policy) / sentencesOf(policy).length);
perSentence.sort((a, b) => a - b);
console.log(
  `corpus: ${corpus.length} policies, ${corpus.reduce((n, c) => n + sentencesOf(c.policy).length, 0)} sentences; ` +
    `µs per sentence: median ${quantile(perSentence, 0.5).toFixed(1)}, p95 ${quantile(perSentence, 0.95).toFixed(1)}, max ${perSentence.at(-1)!.toFixed(1)}`,
);

// 2. A 100-sentence policy: corpus sentences that still compile together (greedy, in corpus order), then padding.
const kept: string[] = [];
const seen = new Set<string>();
for (const { policy } of corpus) {
  for (const s of sentencesOf(policy)) {
    if (kept.length >= 100 || seen.has(s)) continue;
    seen.add(s);
    try {
      compilePolicy([...kept, s].join('\n'));
      kept.push(s);
    } catch {
      // conflicts with an earlier sentence (a second body limit or deny status): left out
    }
  }
}
const fromCorpus = kept.length;
for (let i = 0; kept.length < 100; i++)
  kept.push(
    i % 2 === 0
      ? `agents of type team${i} may call svc${i}.read.`
      : `agents of type team${i} may not call svc${i}.*.`,
  );
const big = kept.join('\n');
const c = compilePolicy(big);
const us = timeCompile(big);
console.log(
  `100-sentence policy (${fromCorpus} from the corpus, ${100 - fromCorpus} templated; ${c.explanation.length} rules, ` +
    `${c.rego.length} B Rego, ${c.testRego.length} B tests): ${(us / 1000).toFixed(2)} ms median, ${(us / 100).toFixed(1)} µs per sentence`,
);
