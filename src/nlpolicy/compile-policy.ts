/** Controlled English → Rego (docs/policy-language.md). Offline and deterministic. */
import { createHash } from 'node:crypto';
import { NlPolicyError } from './errors.js';
import { decisionTestRego } from './lib/decide.js';
import type { Sentence } from './lib/ir.js';
import { SentenceParser } from './lib/parse.js';
import { policyRego } from './lib/rego.js';
import { testRego } from './lib/test-rego.js';
import { splitSentences } from './lib/text.js';

export type {
  Action,
  AgentMatch,
  Condition,
  RuleSentence,
  Sentence,
  StatusSentence,
  Subject,
} from './lib/ir.js';

/** Options of {@link compilePolicy}. */
export interface CompileOptions {
  /** Name used in error positions (`policy.txt:3:14: …`). Default `policy`. */
  source?: string;
}

/** One generated rule and the words it came from. */
export interface ExplanationEntry {
  /** Rule name in the Rego (`s1`, `s1b`). */
  rule: string;
  /** The sentence, as written (whitespace collapsed). */
  words: string;
  /** 1-based line the sentence starts on. */
  line: number;
}

/** What {@link compilePolicy} produces. */
export interface CompiledPolicy {
  /** `policy.rego`: package envoy.authz, entrypoint `envoy/authz/allow`. */
  rego: string;
  /** `policy_test.rego`: one positive and one negative case per rule. */
  testRego: string;
  /**
   * `policy_decision_test.rego`: the decision (`data.envoy.authz.allow`) the words give on the same requests, for
   * checking Rego that was not written by this compiler (e.g. the `--llm` backend's) against the words.
   */
  decisionTestRego: string;
  /** Rule by rule, the words each came from. */
  explanation: ExplanationEntry[];
  /** The parsed sentences, in order. */
  sentences: Sentence[];
}

/**
 * Compiles a controlled-English policy. Throws {@link NlPolicyError} on the first sentence outside the grammar
 * (nothing is compiled then). Same text → byte-identical output.
 */
export function compilePolicy(text: string, options: CompileOptions = {}): CompiledPolicy {
  const source = options.source ?? 'policy';
  const raws = splitSentences(text);
  if (raws.length === 0)
    throw new NlPolicyError('NLPOLICY_EMPTY', `${source}: no sentence to compile`, {
      line: 1,
      column: 1,
      words: '',
      sentence: '',
      suggestion: 'any agent may call <tool>',
    });
  const sentences: Sentence[] = [];
  const settings = new Map<string, number>();
  raws.forEach((raw, i) => {
    const parsed = new SentenceParser(raw, `s${i + 1}`, source).parse();
    for (const s of parsed) {
      const setting =
        s.kind === 'status' ? 'the deny status' : s.setting === 'body-limit' ? 'the body limit' : undefined;
      if (setting) {
        const first = settings.get(setting);
        if (first !== undefined)
          throw new NlPolicyError(
            'NLPOLICY_DUPLICATE_SETTING',
            `${source}:${raw.line}:${raw.column}: ${setting} is already set on line ${first}`,
            {
              line: raw.line,
              column: raw.column,
              words: raw.words,
              sentence: raw.words,
              suggestion: 'keep one of the two sentences',
            },
          );
        settings.set(setting, raw.line);
      }
      sentences.push(s);
    }
  });
  const digest = createHash('sha256').update(text, 'utf8').digest('hex');
  return {
    rego: policyRego(sentences, digest),
    testRego: testRego(sentences),
    decisionTestRego: decisionTestRego(sentences),
    explanation: sentences.map((s) => ({ rule: s.id, words: s.words, line: s.line })),
    sentences,
  };
}
