/**
 * The refused-sentence table (docs/policy-language.md §5): every sentence outside the grammar, or with a bad value,
 * is refused with its stable code, the quoted words, their position and the nearest supported phrasing; nothing is
 * compiled from a text holding one, and every concrete suggestion is itself a supported sentence.
 */
import { describe, expect, it } from 'vitest';
import { compilePolicy, NLPOLICY_ERROR_CODES, NlPolicyError } from '../../src/nlpolicy/index.js';

interface Refused {
  text: string;
  code: string;
  column: number;
  words: string;
  suggestion: string;
}

const U = 'NLPOLICY_UNSUPPORTED_SENTENCE';
const V = 'NLPOLICY_INVALID_VALUE';

// biome-ignore format: one row per refused sentence reads best
const TABLE: Refused[] = [
  { text: 'research agents may cal web.search.', code: U, column: 21, words: 'cal web.search', suggestion: 'research agents may call web.search' },
  { text: 'research agents should call web.search.', code: U, column: 17, words: 'should call web.search', suggestion: 'research agents may call web.search' },
  { text: 'research agents may delete everything.', code: U, column: 21, words: 'delete everything', suggestion: 'research agents may call <tool>' },
  { text: 'research agents may', code: U, column: 20, words: '(end of sentence)', suggestion: 'research agents may call <tool>' },
  { text: 'allow research agents to call web.search.', code: U, column: 1, words: 'allow research agents to call web.search', suggestion: 'research agents may call web.search' },
  { text: 'everyone may call web.search.', code: U, column: 1, words: 'everyone may call web.search', suggestion: '<type> agents may call web.search' },
  { text: 'agent spiffe://sigil.mesh may call web.search.', code: V, column: 7, words: 'spiffe://sigil.mesh', suggestion: 'agent spiffe://sigil.mesh/agent/<type>/<instance> may call web.search' },
  { text: 'agents matching spiffe://sigil.mesh/agent/research may call x.', code: V, column: 17, words: 'spiffe://sigil.mesh/agent/research', suggestion: 'agents matching spiffe://sigil.mesh/agent/research/* may call <tool>' },
  { text: 'agents in trust domain Sigil.Mesh may call x.', code: V, column: 24, words: 'Sigil.Mesh', suggestion: 'agents in trust domain sigil.mesh may call x' },
  { text: 'research agents on project p1 may call x.', code: U, column: 20, words: 'project p1 may call x', suggestion: 'research agents may call <tool>' },
  { text: 'research agents may call web..search.', code: V, column: 26, words: 'web..search', suggestion: 'research agents may call web.search' },
  { text: 'research agents may call web.search and.', code: U, column: 37, words: 'and', suggestion: 'research agents may call web.search' },
  { text: 'research agents may call fs.*.read.', code: V, column: 26, words: 'fs.*.read', suggestion: 'research agents may call fs.read' },
  { text: 'research agents may not call shell.*, never fs.read.', code: U, column: 39, words: 'never fs.read', suggestion: 'research agents may call shell.*, never fs.read' },
  { text: 'research agents may make get requests to /api.', code: V, column: 26, words: 'get', suggestion: 'research agents may make GET requests to /api' },
  { text: 'research agents may make GET requests to api.', code: V, column: 42, words: 'api', suggestion: 'research agents may make GET requests to /api' },
  { text: 'research agents may make GET requests to /api?x=1.', code: V, column: 42, words: '/api?x=1', suggestion: 'research agents may make GET requests to /api' },
  { text: 'research agents may make GET requests at /api.', code: U, column: 39, words: 'at /api', suggestion: 'research agents may make GET requests to /api' },
  { text: 'research agents may call web.search unless it rains.', code: U, column: 37, words: 'unless it rains', suggestion: 'research agents may call web.search' },
  { text: 'research agents may call web.search when the moon is full.', code: U, column: 42, words: 'the moon is full', suggestion: 'research agents may call web.search' },
  { text: 'research agents may call web.search when the delegation depth is at most 0.', code: V, column: 74, words: '0', suggestion: 'research agents may call web.search when the delegation depth is at most 1' },
  { text: 'research agents may call web.search when the delegation depth is about 2.', code: U, column: 66, words: 'about 2', suggestion: 'research agents may call web.search when the delegation depth is at most 2' },
  { text: 'research agents may call web.search not when delegated by orchestrator agents.', code: U, column: 46, words: 'delegated by orchestrator agents', suggestion: 'research agents may call web.search not when the chain includes orchestrator agents' },
  { text: 'research agents may call web.search when delegated by someone.', code: U, column: 55, words: 'someone', suggestion: 'research agents may call web.search when delegated by any agent' },
  { text: 'research agents may call web.search only between 9am and 5pm in UTC.', code: V, column: 50, words: '9am', suggestion: 'research agents may call web.search only between 09:00 and 17:00 in UTC' },
  { text: 'research agents may call web.search only between 09:00 and 17:00.', code: U, column: 65, words: '(end of sentence)', suggestion: 'research agents may call web.search only between 09:00 and 17:00 in UTC' },
  { text: 'research agents may call web.search only between 09:00 and 09:00 in UTC.', code: V, column: 60, words: '09:00', suggestion: 'research agents may call web.search only between 09:00 and 17:00 in UTC' },
  { text: 'research agents may call web.search only between 09:00 and 17:00 in Mars/Olympus.', code: V, column: 69, words: 'Mars/Olympus', suggestion: 'research agents may call web.search only between 09:00 and 17:00 in UTC' },
  { text: 'research agents may call web.search only between 09:00 and 17:00 in europe/paris.', code: V, column: 69, words: 'europe/paris', suggestion: 'research agents may call web.search only between 09:00 and 17:00 in Europe/Paris' },
  { text: 'research agents may call web.search only on holidays in UTC.', code: U, column: 45, words: 'holidays in UTC', suggestion: 'research agents may call web.search' },
  { text: 'research agents may call web.search only at night in UTC.', code: U, column: 42, words: 'at night in UTC', suggestion: 'research agents may call web.search' },
  { text: 'requests with a body larger than ten MB are denied.', code: U, column: 34, words: 'ten MB are denied', suggestion: 'requests with a body larger than <n> MiB are denied' },
  { text: 'requests with a body larger than 10 PB are denied.', code: V, column: 37, words: 'PB', suggestion: 'requests with a body larger than 10 MiB are denied' },
  { text: 'requests with a body larger than 10 MB are refused.', code: U, column: 40, words: 'are refused', suggestion: 'requests with a body larger than 10 MB are denied' },
  { text: 'research agents may call web.search only when the body is at most 1 PB.', code: V, column: 69, words: 'PB', suggestion: 'research agents may call web.search only when the body is at most 1 MiB' },
  { text: 'denied requests get status 418.', code: V, column: 28, words: '418', suggestion: 'denied requests get status 403' },
  { text: 'denied requests get status 429 and message slow.', code: U, column: 44, words: 'slow', suggestion: 'denied requests get status 429 and message "slow"' },
  { text: 'denied requests get status 429 and message "slow.', code: U, column: 44, words: 'slow.', suggestion: 'denied requests get status 429 and message "slow."' },
  { text: 'denied requests get the status 429.', code: U, column: 1, words: 'denied requests get the status 429', suggestion: 'denied requests get status 403 and message "<text>"' },
];

function refusal(text: string): NlPolicyError {
  try {
    compilePolicy(text, { source: 'p.txt' });
  } catch (e) {
    if (e instanceof NlPolicyError) return e;
    throw e;
  }
  throw new Error(`accepted: ${text}`);
}

describe('refused sentences', () => {
  it.each(TABLE)('$text → $code', (row) => {
    const e = refusal(row.text);
    expect({
      code: e.code,
      line: e.line,
      column: e.column,
      words: e.words,
      suggestion: e.suggestion,
    }).toEqual({
      code: row.code,
      line: 1,
      column: row.column,
      words: row.words,
      suggestion: row.suggestion,
    });
    // The message is compiler-style: file:line:column, the sentence, and the suggestion.
    expect(e.message.startsWith(`p.txt:1:${row.column}: `)).toBe(true);
    expect(e.message).toContain(row.text.replace(/\.$/, ''));
    if (row.code === U) expect(e.message).toContain(`nearest supported phrasing: "${row.suggestion}"`);
  });

  it('every concrete suggestion is itself a supported sentence', () => {
    const concrete = TABLE.filter((r) => !/<[a-z-]+>/.test(r.suggestion));
    expect(concrete.length).toBeGreaterThan(15);
    for (const r of concrete) expect(() => compilePolicy(r.suggestion), r.suggestion).not.toThrow();
  });

  it('one refused sentence refuses the whole text, at its own line', () => {
    const text = [
      '# a comment',
      'research agents may call web.search.',
      '',
      'billing agents may call pay.charge',
      '  when delegated by orchestrator agents,',
      '  when the moon is full.',
      'anyone may do anything.',
    ].join('\n');
    const e = refusal(text);
    expect([e.code, e.line, e.column, e.words]).toEqual([U, 6, 8, 'the moon is full']);
    expect(e.sentence).toBe(
      'billing agents may call pay.charge when delegated by orchestrator agents, when the moon is full',
    );
  });

  it('conditions no request can meet together are refused', () => {
    for (const [text, why] of [
      [
        'any agent may not call x when delegated by orchestrator agents, when the delegation depth is at most 1.',
        'no chain can have a delegation depth of at least 2 and at most 1',
      ],
      [
        'any agent may call x when the body is at most 10 bytes, when the body is larger than 10 bytes.',
        'no body can be larger than 10 bytes and at most 10 bytes',
      ],
      ['any agent may call x only on Mondays in UTC, only on Tuesdays in UTC.', 'the times never coincide'],
    ] as const) {
      const e = refusal(text);
      expect([e.code, e.line, e.column]).toEqual(['NLPOLICY_CONTRADICTION', 1, 1]);
      expect(e.message).toContain(why);
    }
    // Bounds that meet, and times in two zones that overlap, are fine.
    expect(() =>
      compilePolicy(
        'any agent may call x when the delegation depth is at least 2, when the delegation depth is at most 2.',
      ),
    ).not.toThrow();
    expect(() =>
      compilePolicy(
        'any agent may call x only on Mondays in UTC, only between 09:00 and 10:00 in Asia/Tokyo.',
      ),
    ).not.toThrow();
  });

  it('time zones are taken exactly as SIGIL loads them: IANA names and aliases, case-sensitive', () => {
    for (const z of ['UTC', 'Europe/Paris', 'Asia/Kolkata', 'America/Argentina/Buenos_Aires', 'Etc/GMT+5'])
      expect(
        () => compilePolicy(`any agent may call x only between 09:05 and 09:06 in ${z}.`),
        z,
      ).not.toThrow();
    for (const z of ['Europe/PARIS', 'europe/paris', 'Mars/Base', 'zone.tab', '../etc/passwd'])
      expect(refusal(`any agent may call x only on weekdays in ${z}.`).code, z).toBe(
        'NLPOLICY_INVALID_VALUE',
      );
  });

  it('duplicate settings and empty texts are refused', () => {
    const dup = refusal(
      'denied requests get status 403.\nany agent may call x.\ndenied requests get status 404.',
    );
    expect([dup.code, dup.line]).toEqual(['NLPOLICY_DUPLICATE_SETTING', 3]);
    expect(dup.message).toContain('already set on line 1');
    const body = refusal(
      'requests with a body larger than 1 MB are denied.\nrequests with a body larger than 2 MB are denied.',
    );
    expect(body.code).toBe('NLPOLICY_DUPLICATE_SETTING');
    expect(refusal('# nothing here\n\n   \n').code).toBe('NLPOLICY_EMPTY');
    expect(NLPOLICY_ERROR_CODES).toContain('NLPOLICY_CHECK_FAILED');
  });
});
