/**
 * Properties of the compiler over generated input: it never crashes (every failure is an NlPolicyError with a
 * stable code and a position inside the text), a word no grammar position accepts is always refused wherever it is
 * put (never skipped, so never a partial policy), and compiling is a pure function of the text.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePolicy, NLPOLICY_ERROR_CODES, NlPolicyError } from '../../src/nlpolicy/index.js';
import { loadCorpus } from './support.js';

const sentences = loadCorpus().flatMap((e) =>
  e.policy
    .replace(/\n\s+/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean),
);

const VOCAB = [
  ...new Set(sentences.flatMap((s) => s.replace(/\.$/, '').split(/\s+/))),
  ',',
  '.',
  '"quoted"',
  '#',
  'xyzzy',
  '',
];

function outcome(text: string): 'ok' | NlPolicyError {
  try {
    compilePolicy(text);
    return 'ok';
  } catch (e) {
    if (e instanceof NlPolicyError) return e;
    throw e;
  }
}

describe('compiler properties', () => {
  it('word salad from the grammar never crashes; refusals carry a code and a position in the text', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...VOCAB), { minLength: 1, maxLength: 24 }), (words) => {
        const text = words.join(' ');
        const r = outcome(text);
        if (r === 'ok') {
          expect(compilePolicy(text).rego).toBe(compilePolicy(text).rego);
          return;
        }
        expect(NLPOLICY_ERROR_CODES).toContain(r.code);
        if (r.code === 'NLPOLICY_EMPTY') return;
        const lines = text.split('\n');
        expect(r.line).toBeGreaterThanOrEqual(1);
        expect(r.line).toBeLessThanOrEqual(lines.length);
        expect(r.column).toBeGreaterThanOrEqual(1);
        expect(r.suggestion.length).toBeGreaterThan(0);
      }),
      { numRuns: 1500, seed: 21 },
    );
  });

  it('a word no position accepts is refused wherever it is inserted', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...sentences),
        fc.nat(),
        fc.constantFrom('%%', 'wh@t', '¿', 'a"b'),
        (sentence, k, junk) => {
          const words = sentence.replace(/\.$/, '').split(' ');
          const at = k % (words.length + 1);
          // Inside a "quoted message" any text is the message itself.
          fc.pre((words.slice(0, at).join(' ').match(/"/g)?.length ?? 0) % 2 === 0);
          const text = [...words.slice(0, at), junk, ...words.slice(at)].join(' ');
          const r = outcome(text);
          expect(r, text).toBeInstanceOf(NlPolicyError);
          expect(['NLPOLICY_UNSUPPORTED_SENTENCE', 'NLPOLICY_INVALID_VALUE']).toContain(
            (r as NlPolicyError).code,
          );
        },
      ),
      { numRuns: 1500, seed: 21 },
    );
  });

  it('every corpus sentence compiles alone, identically twice', () => {
    for (const s of sentences) {
      const a = compilePolicy(s);
      expect(compilePolicy(s)).toEqual(a);
    }
  });
});
