/**
 * The deterministic side of the LLM check (docs/policy-llm.md): which sentences of a free-form text the
 * controlled-English compiler can parse, its Rego for them, and concrete requests with what the words require.
 */
import { compilePolicy } from '../compile-policy.js';
import { inputDocument, type SampleRequest } from './requests.js';
import { ruleCases } from './test-rego.js';
import { splitSentences } from './text.js';

/** A request the LLM policy is evaluated on, and how its decision is judged. */
export interface CheckCase {
  /** What the request is, for refusal messages (`s2 positive: "any agent may not call shell.*"`). */
  name: string;
  input: unknown;
  nowNs: bigint;
  /**
   * `same`: the decision must equal the deterministic policy's (every sentence parsed). `deny`: the request must
   * be denied (a parsed deny sentence matches it, or it is a probe no sentence names).
   */
  rule: 'same' | 'deny';
}

/** What the deterministic compiler makes of a text. */
export interface DeterministicTests {
  /** Sentences it parsed / could not parse, as written. */
  parsed: string[];
  unparsed: string[];
  /** Its Rego for the parsed sentences (undefined when none parsed). */
  rego?: string;
  cases: CheckCase[];
}

/** Builds {@link DeterministicTests} for a text; injectable so the check can run with another compiler. */
export type DeterministicTestSource = (text: string) => DeterministicTests;

/** Words that name every agent, tool or request: with them, a probe being allowed is not wider than the text. */
const WIDE_WORDS =
  /\b(any|every|all)\s+(tools?|agents?|requests?|routes?|paths?)\b|\banyone\b|\banything\b|\beverything\b/i;

const T = BigInt(Date.UTC(2026, 0, 5, 12)) * 1_000_000n;

/** Requests no sentence of a text without wide words names: they must be denied. */
function probes(): { name: string; req: SampleRequest }[] {
  const sub = 'spiffe://nlpolicy-probe.test/agent/nlpolicy-probe/i1';
  return [
    {
      name: 'probe: a public-route request with no token',
      req: {
        valid: false,
        hops: [],
        tools: [],
        method: 'DELETE',
        path: '/nlpolicy-probe',
        nowMs: Number(T / 1_000_000n),
      },
    },
    {
      name: 'probe: an unnamed agent calling an unnamed tool',
      req: {
        valid: true,
        sub,
        taskId: 'nlpolicy-probe-task',
        hops: [sub],
        tools: ['nlpolicy.probe'],
        method: 'POST',
        path: '/nlpolicy-probe',
        nowMs: Number(T / 1_000_000n),
      },
    },
  ];
}

/** The deterministic compiler of this module (compilePolicy), one sentence at a time. */
export const deterministicTests: DeterministicTestSource = (text) => {
  const parsed: string[] = [];
  const unparsed: string[] = [];
  // Sentences that may allow something: the unparsed ones (unknown) and the parsed allow sentences.
  const allowing: string[] = [];
  for (const raw of splitSentences(text)) {
    try {
      const one = compilePolicy(`${raw.words}.`);
      parsed.push(raw.words);
      if (one.sentences.some((s) => s.kind === 'rule' && s.effect === 'allow')) allowing.push(raw.words);
    } catch {
      unparsed.push(raw.words);
      allowing.push(raw.words);
    }
  }
  const complete = unparsed.length === 0 && parsed.length > 0;
  const cases: CheckCase[] = [];
  let rego: string | undefined;
  if (parsed.length > 0) {
    const compiled = compilePolicy(parsed.map((s) => `${s}.`).join('\n'));
    rego = compiled.rego;
    const rules = compiled.sentences.filter((s) => s.kind === 'rule');
    for (const c of ruleCases(compiled.sentences)) {
      const rule = rules.find((r) => r.id === c.rule)!;
      for (const [kind, req] of [
        ['positive', c.positive],
        ['negative', c.negative],
      ] as const) {
        if (!req) continue;
        const judged = complete ? 'same' : rule.effect === 'deny' && kind === 'positive' ? 'deny' : undefined;
        if (!judged) continue;
        cases.push({
          name: `${c.rule} ${kind} (${JSON.stringify(rule.words)})`,
          input: inputDocument(req),
          nowNs: BigInt(req.nowMs) * 1_000_000n,
          rule: judged,
        });
      }
    }
  }
  if (complete || !allowing.some((w) => WIDE_WORDS.test(w))) {
    for (const p of probes())
      cases.push({
        name: p.name,
        input: inputDocument(p.req),
        nowNs: BigInt(p.req.nowMs) * 1_000_000n,
        rule: complete ? 'same' : 'deny',
      });
  }
  return { parsed, unparsed, ...(rego !== undefined ? { rego } : {}), cases };
};
