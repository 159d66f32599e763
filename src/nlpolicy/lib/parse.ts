/** Recursive-descent parser for the controlled English of docs/policy-language.md §2. */
import { existsSync, readFileSync } from 'node:fs';
import { isScopePattern } from '../../token/index.js';
import { NlPolicyError, type NlPolicyErrorCode } from '../errors.js';
import {
  type AgentMatch,
  type Condition,
  DAYS,
  type Op,
  type Sentence,
  type Subject,
  type TaskMatch,
} from './ir.js';
import { someWeekTime, timeHolds } from './requests.js';
import { nearestKeyword, nearestTemplate } from './suggest.js';
import { joinWords, type RawSentence, type Token } from './text.js';

/** Deny statuses Go's http.StatusText and Envoy's envoy.type.v3.StatusCode both know (docs/policy.md §5). */
const DENY_STATUSES = new Set([
  400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 421, 422, 423,
  424, 426, 428, 429, 431, 500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511,
]);
const SIZE_UNITS: Record<string, number> = {
  b: 1,
  byte: 1,
  bytes: 1,
  kb: 1000,
  kib: 1024,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};
/** Words that end a tool list or cannot be a type name. */
const KEYWORDS = new Set([
  'only',
  'when',
  'not',
  'between',
  'on',
  'never',
  'but',
  'in',
  'and',
  'or',
  'if',
  'agent',
  'agents',
  'any',
  'all',
  'every',
  'anyone',
  'task',
  'tasks',
  'may',
  'can',
  'cannot',
  'must',
  'is',
  'are',
  'a',
  'an',
  'the',
]);
const ALLOW_VERBS = [['may'], ['can'], ['is', 'allowed', 'to'], ['are', 'allowed', 'to']];
const DENY_VERBS = [
  ['may', 'not'],
  ['may', 'never'],
  ['must', 'not'],
  ['must', 'never'],
  ['cannot'],
  ['can', 'not'],
  ['is', 'not', 'allowed', 'to'],
  ['are', 'not', 'allowed', 'to'],
  ['never'],
];
const SEGMENT = /^[A-Za-z0-9._-]+$/;
const SPIFFE = /^spiffe:\/\/([a-z0-9._-]+)((?:\/[A-Za-z0-9._-]+)+)$/;
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
/** A path in the sentence: unreserved and sub-delim characters only (RFC 3986 §3.3); no %-escapes (rules match the decoded path). */
const PATH = /^\/[A-Za-z0-9._~!$&'()+;=:@-]*(?:\/[A-Za-z0-9._~!$&'()+;=:@-]+)*$/;
const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;

let zones: Set<string> | undefined;
/** Where SIGIL's time builtins read zones from (docs/policy.md §6: Go's LoadLocation on the system zoneinfo). */
const ZONEINFO = '/usr/share/zoneinfo';

/**
 * True for "UTC" or a zone name SIGIL's time builtins load as written: with a system zoneinfo, a TZif file of that
 * exact (case-sensitive) name; without one, a name in ICU's list — the rule of docs/policy.md §6. The name must
 * also be one ICU knows, since the generated tests pick their times with Intl.
 */
function isZone(z: string): boolean {
  if (z === 'UTC') return true;
  if (z.includes('..') || z.startsWith('/') || z.includes('\\') || z.includes('\0')) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: z });
  } catch {
    return false;
  }
  if (existsSync(ZONEINFO)) {
    try {
      const head = readFileSync(`${ZONEINFO}/${z}`).subarray(0, 4).toString('latin1');
      return head === 'TZif'; // RFC 8536 §3.1 magic
    } catch {
      return false;
    }
  }
  zones ??= new Set(Intl.supportedValuesOf('timeZone'));
  return zones.has(z);
}

/** The zone whose name differs from `z` only in case (SIGIL's zone names are case-sensitive), if any. */
function zoneLike(z: string): string | undefined {
  zones ??= new Set(Intl.supportedValuesOf('timeZone'));
  const l = z.toLowerCase();
  return [...zones].find((x) => x.toLowerCase() === l && isZone(x));
}

/** The nearest tool name: empty segments dropped, other characters removed (`web..search` → `web.search`). */
function toolLike(s: string): string {
  const segs = s
    .replace(/\*+$/, '')
    .split('.')
    .map((x) => x.replace(/[^A-Za-z0-9_:/-]/g, ''))
    .filter(Boolean);
  const name = segs.join('.');
  return name === '' ? '*' : s.endsWith('.*') ? `${name}.*` : name;
}

/** `9am` → `09:00`, `5pm` → `17:00`, `9` → `09:00`; else `09:00`. */
function clockLike(s: string): string {
  const m = /^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$/i.exec(s);
  if (!m) return '09:00';
  let h = Number(m[1]) % 24;
  if (m[3]?.toLowerCase() === 'pm' && h < 12) h += 12;
  if (m[3]?.toLowerCase() === 'am' && h === 12) h = 0;
  const min = Math.min(Number(m[2] ?? 0), 59);
  return `${String(h).padStart(2, '0')}:${String(min).padStart(2, '0')}`;
}

/** Parses one sentence into one or two {@link Sentence}s (a `never` clause adds a deny rule). */
export class SentenceParser {
  private pos = 0;
  private readonly t: Token[];

  constructor(
    private readonly raw: RawSentence,
    private readonly id: string,
    private readonly source: string,
  ) {
    this.t = raw.tokens;
  }

  /** The sentence's sentences, or throws {@link NlPolicyError}. */
  parse(): Sentence[] {
    const words = this.raw.words;
    const line = this.raw.line;
    if (this.eat('requests', 'with', 'a', 'body', 'larger', 'than')) {
      const bytes = this.size();
      if (!this.eat('are', 'denied'))
        this.fail(['are denied'], undefined, this.rewrite(this.t.length - this.pos, 'are denied'));
      this.end();
      return [
        {
          kind: 'rule',
          id: this.id,
          effect: 'deny',
          subject: { anyone: true },
          action: { kind: 'anything' },
          conditions: [{ kind: 'body', op: '>', bytes }],
          words,
          line,
          setting: 'body-limit',
        },
      ];
    }
    if (this.eat('denied', 'requests', 'get', 'status')) {
      const tok = this.peek();
      const status = this.int('an HTTP status');
      if (!DENY_STATUSES.has(status))
        this.invalid(
          tok!,
          `status ${status} is not a deny status Envoy and Go both know (docs/policy.md §5)`,
          '403',
        );
      let message: string | undefined;
      if (this.eat('and', 'message') || this.eat('with', 'message')) {
        const m = this.peek();
        if (!m?.quoted) {
          const rest = this.t.slice(this.pos).map((t) => t.text);
          this.fail(
            ['a "quoted message"'],
            undefined,
            this.rewrite(rest.length, JSON.stringify(rest.join(' '))),
          );
        }
        message = m.text;
        this.pos++;
      }
      this.end();
      return [
        { kind: 'status', id: this.id, status, ...(message !== undefined ? { message } : {}), words, line },
      ];
    }
    const subject = this.subject();
    let effect: 'allow' | 'deny';
    if (this.eatAny(DENY_VERBS)) effect = 'deny';
    else if (this.eatAny(ALLOW_VERBS)) effect = 'allow';
    else this.fail(['may', 'may not', 'can', 'cannot', 'must not', 'may never']);
    const action = this.action();
    const conditions: Condition[] = [];
    let never: string[] | undefined;
    while (this.pos < this.t.length) {
      this.eat(',');
      if (this.is('never') || this.is('but', 'never')) {
        if (effect !== 'allow' || action.kind !== 'tools' || never)
          this.fail(['end of sentence'], 'a "never" clause follows only an allow sentence about tools');
        this.eat('but');
        this.eat('never');
        this.eat('call') || this.eat('use');
        never = this.tools();
        continue;
      }
      conditions.push(this.condition());
    }
    const rule = { kind: 'rule' as const, id: this.id, effect, subject, action, conditions, words, line };
    this.consistent(conditions);
    if (!never) return [rule];
    return [
      rule,
      {
        kind: 'rule',
        id: `${this.id}b`,
        effect: 'deny',
        subject,
        action: { kind: 'tools', tools: never },
        conditions: [],
        words,
        line,
      },
    ];
  }

  /**
   * Refuses conditions no request can meet together (depth or body bounds that exclude each other, hours and days
   * that never coincide): such a rule would never match, and a deny that never matches is wider than its words.
   */
  private consistent(conditions: Condition[]): void {
    let depthLo = 1;
    let depthHi = Number.POSITIVE_INFINITY;
    let bodyLo = 0;
    let bodyHi = Number.POSITIVE_INFINITY;
    const times: Extract<Condition, { kind: 'time' }>[] = [];
    for (const c of conditions) {
      if (c.kind === 'delegated-by') depthLo = Math.max(depthLo, 2);
      if (c.kind === 'depth') {
        if (c.op === '<=') depthHi = Math.min(depthHi, c.n);
        if (c.op === '<') depthHi = Math.min(depthHi, c.n - 1);
        if (c.op === '>=') depthLo = Math.max(depthLo, c.n);
        if (c.op === '>') depthLo = Math.max(depthLo, c.n + 1);
      }
      if (c.kind === 'body') {
        if (c.op === '<=') bodyHi = Math.min(bodyHi, c.bytes);
        else bodyLo = Math.max(bodyLo, c.bytes + 1);
      }
      if (c.kind === 'time') times.push(c);
    }
    let why: string | undefined;
    if (depthLo > depthHi)
      why = `no chain can have a delegation depth of at least ${depthLo} and at most ${depthHi}`;
    else if (bodyLo > bodyHi)
      why = `no body can be larger than ${bodyLo - 1} bytes and at most ${bodyHi} bytes`;
    else if (times.length > 1 && !someWeekTime((ms) => times.every((t) => timeHolds(t, ms))))
      why = 'the times never coincide';
    if (why) {
      const first = this.t[0]!;
      throw new NlPolicyError(
        'NLPOLICY_CONTRADICTION',
        `${this.source}:${first.line}:${first.column}: contradictory conditions in "${this.raw.words}": ${why}`,
        {
          line: first.line,
          column: first.column,
          words: this.raw.words,
          sentence: this.raw.words,
          suggestion: 'keep one of the conditions',
        },
      );
    }
  }

  // ---- subjects ----

  private subject(): Subject {
    if (this.eat('anyone')) return { anyone: true };
    const task = this.task();
    if (task) return { anyone: false, task };
    const agent = this.agent();
    if (!agent)
      this.fail([
        'anyone',
        'any agent',
        '<type> agents',
        'agent <spiffe-id>',
        'agents matching <prefix>/*',
        'agents in trust domain <td>',
        'task <id>',
        'tasks starting with <prefix>',
      ]);
    if (this.eat('on')) {
      const t = this.task();
      if (!t) this.fail(['task <id>', 'tasks starting with <prefix>']);
      return { anyone: false, agent, task: t };
    }
    return { anyone: false, agent };
  }

  private task(): TaskMatch | undefined {
    if (this.eat('task')) return { kind: 'task', id: this.value('a task id', SEGMENT) };
    if (this.eat('tasks', 'starting', 'with') || this.eat('tasks', 'with', 'prefix'))
      return { kind: 'task-prefix', prefix: this.value('a task id prefix', SEGMENT) };
    return undefined;
  }

  /** An agent reference, or undefined (nothing consumed) when the words are not one. */
  private agent(): AgentMatch | undefined {
    if (
      this.eat('any', 'agent') ||
      this.eat('any', 'agents') ||
      this.eat('all', 'agents') ||
      this.eat('every', 'agent')
    )
      return { kind: 'any-agent' };
    if (
      this.eat('agents', 'of', 'type') ||
      this.eat('an', 'agent', 'of', 'type') ||
      this.eat('agent', 'of', 'type')
    )
      return { kind: 'type', type: this.value('an agent type', SEGMENT) };
    if (this.eat('agents', 'matching')) {
      const tok = this.peek();
      const p = this.value('a SPIFFE ID prefix ending in /*', /^spiffe:\/\/\S+\/\*$/);
      const base = p.slice(0, -2);
      if (!SPIFFE.test(base) && !TRUST_DOMAIN.test(base.slice('spiffe://'.length)))
        this.invalid(
          tok!,
          `"${p}" is not a SPIFFE ID prefix followed by /*`,
          'spiffe://<trust-domain>/agent/<type>/*',
        );
      return { kind: 'prefix', prefix: `${base}/` };
    }
    if (this.eat('agents', 'in', 'trust', 'domain') || this.eat('agents', 'from', 'trust', 'domain')) {
      const tok = this.peek();
      if (tok && !tok.quoted && !TRUST_DOMAIN.test(tok.text) && TRUST_DOMAIN.test(tok.text.toLowerCase()))
        this.invalid(
          tok,
          `trust domains are lower case ("${tok.text.toLowerCase()}")`,
          tok.text.toLowerCase(),
        );
      return { kind: 'domain', domain: this.value('a trust domain', TRUST_DOMAIN) };
    }
    if (this.eat('agent')) {
      const tok = this.peek();
      const id = this.value('a SPIFFE ID', /^spiffe:\/\/\S+$/);
      if (!SPIFFE.test(id))
        this.invalid(
          tok!,
          `"${id}" is not a SPIFFE ID (spiffe://<trust-domain>/<path>)`,
          `${id.replace(/\/+$/, '')}/agent/<type>/<instance>`,
        );
      return { kind: 'id', id };
    }
    // "<type> agents", "a <type> agent"
    const article = this.is('a') || this.is('an') ? 1 : 0;
    const w = this.peek(article);
    const n = this.peek(article + 1);
    if (w && n && !w.quoted && SEGMENT.test(w.text) && !KEYWORDS.has(w.lower)) {
      if ((article === 0 && n.lower === 'agents') || (article === 1 && n.lower === 'agent')) {
        this.pos += article + 2;
        return { kind: 'type', type: w.text };
      }
    }
    return undefined;
  }

  // ---- actions ----

  private action() {
    if (this.eat('call') || this.eat('use')) return { kind: 'tools' as const, tools: this.tools() };
    if (this.eat('do', 'anything')) return { kind: 'anything' as const };
    if (this.eat('make')) {
      let methods: string[] | 'any';
      if (this.eat('any')) methods = 'any';
      else {
        methods = [this.method()];
        while (this.eat(',') || this.eat('or') || this.eat('and')) {
          this.eat('or') || this.eat('and');
          methods.push(this.method());
        }
        methods = [...new Set(methods)].sort();
      }
      if (!this.eat('requests') && !this.eat('request')) this.fail(['requests to <path>']);
      if (!this.eat('to')) {
        // "at /api" → "to /api"; "/api" alone → "to /api".
        const cur = this.peek();
        const replace = cur !== undefined && !cur.text.startsWith('/');
        this.fail(['to <path>'], undefined, this.rewrite(replace ? 1 : 0, 'to'));
      }
      const tok = this.peek();
      if (tok && !tok.quoted && !tok.text.startsWith('/') && tok.text !== ',')
        this.invalid(tok, `"${tok.text}" is not a path (it starts with /)`, `/${tok.text}`);
      const p = this.value('a path', /^\/\S*$/);
      const subtree = p.endsWith('/*');
      const path = subtree ? p.slice(0, -2) : p;
      if (!(path === '' && subtree) && !PATH.test(path))
        this.invalid(
          tok!,
          `"${p}" is not a path (/a/b, or /a/* for /a and everything below it; no query)`,
          p.replace(/[?#].*$/, '') || '/',
        );
      return { kind: 'route' as const, methods, path, subtree };
    }
    return this.fail(['call <tool>', 'make GET requests to <path>', 'do anything']);
  }

  private method(): string {
    const tok = this.peek();
    const m = this.value('an HTTP method', /^[A-Za-z]{1,32}$/);
    if (m !== m.toUpperCase())
      this.invalid(tok!, `HTTP methods are written in capitals ("${m.toUpperCase()}")`, m.toUpperCase());
    return m;
  }

  private tools(): string[] {
    if (this.eat('any', 'tool')) return ['*'];
    const out = [this.tool()];
    for (;;) {
      const save = this.pos;
      const comma = this.eat(',');
      const conj = this.eat('and') || this.eat('or');
      const next = this.peek();
      if ((comma || conj) && next && !next.quoted && !KEYWORDS.has(next.lower) && next.text !== ',') {
        out.push(this.tool());
        continue;
      }
      this.pos = save;
      break;
    }
    return [...new Set(out)].sort();
  }

  private tool(): string {
    const tok = this.peek();
    if (!tok || tok.quoted || tok.text === ',') this.fail(['a tool name or pattern (fs.read, fs.*, *)']);
    if (!isScopePattern(tok.text))
      this.invalid(
        tok,
        `"${tok.text}" is not a tool name or pattern (name, name.*, or *; docs/tbit.md §4.4)`,
        toolLike(tok.text),
      );
    this.pos++;
    return tok.text;
  }

  // ---- conditions ----

  private condition(): Condition {
    if (this.eat('not', 'when')) {
      if (!this.eat('the', 'chain', 'includes'))
        this.fail(
          ['the chain includes <agent>'],
          undefined,
          this.rewrite(this.is('delegated', 'by') ? 2 : 0, 'the chain includes'),
        );
      return { kind: 'chain-includes', agent: this.agentRef(), negated: true };
    }
    this.eat('only');
    if (this.eat('when') || this.eat('if')) return this.test();
    if (this.is('on') || this.is('between')) return this.time();
    return this.fail([
      'only when …',
      'not when the chain includes <agent>',
      'on weekdays … in <zone>',
      'between HH:MM and HH:MM in <zone>',
      'end of sentence',
    ]);
  }

  private agentRef(): AgentMatch {
    const a = this.agent();
    if (!a)
      this.fail(
        ['agent <spiffe-id>', '<type> agents', 'agents matching <prefix>/*', 'agents in trust domain <td>'],
        undefined,
        this.rewrite(1, 'any agent'),
      );
    return a;
  }

  private test(): Condition {
    if (this.eat('the', 'delegation', 'depth', 'is')) {
      const op = this.op();
      const tok = this.peek();
      const n = this.int('a depth');
      const least = op === '<=' ? 1 : op === '<' ? 2 : 0;
      if (n < least)
        this.invalid(tok!, 'no chain has such a depth (the root alone is depth 1)', String(least || 1));
      return { kind: 'depth', op, n };
    }
    if (this.eat('delegated', 'by')) return { kind: 'delegated-by', agent: this.agentRef() };
    if (this.eat('the', 'chain', 'includes'))
      return { kind: 'chain-includes', agent: this.agentRef(), negated: false };
    if (this.eat('the', 'body', 'is')) {
      let op: '<=' | '>';
      if (this.eat('at', 'most')) op = '<=';
      else if (this.eat('larger', 'than')) op = '>';
      else this.fail(['at most <size>', 'larger than <size>']);
      return { kind: 'body', op, bytes: this.size() };
    }
    return this.fail([
      'the delegation depth is at most <n>',
      'delegated by <agent>',
      'the chain includes <agent>',
      'the body is at most <size>',
    ]);
  }

  private op(): Op {
    if (this.eat('at', 'most')) return '<=';
    if (this.eat('at', 'least')) return '>=';
    if (this.eat('more', 'than')) return '>';
    if (this.eat('less', 'than')) return '<';
    const cur = this.peek();
    const replace = cur !== undefined && !/^\d/.test(cur.text);
    return this.fail(
      ['at most', 'at least', 'more than', 'less than'],
      undefined,
      this.rewrite(replace ? 1 : 0, 'at most'),
    );
  }

  private time(): Condition {
    let days: string[] | undefined;
    let from: number | undefined;
    let to: number | undefined;
    for (let k = 0; k < 2; k++) {
      if (!days && this.eat('on')) days = this.days();
      else if (from === undefined && this.eat('between')) {
        from = this.hhmm();
        this.expect(['and HH:MM'], 'and');
        const b = this.peek();
        to = this.hhmm();
        if (from === to)
          this.invalid(
            b!,
            'the start and the end of the hours are the same',
            from === 1020 ? '18:00' : '17:00',
          );
      }
    }
    if (!this.eat('in'))
      this.fail(['in <IANA time zone> (e.g. in Europe/Paris, in UTC)'], undefined, this.rewrite(0, 'in UTC'));
    const tok = this.peek();
    const zone = this.value('a time zone', /^\S+$/);
    if (!isZone(zone))
      this.invalid(
        tok!,
        `"${zone}" is not a time zone name (IANA, e.g. Europe/Paris, or UTC)`,
        zoneLike(zone) ?? 'UTC',
      );
    return { kind: 'time', zone, ...(days ? { days } : {}), ...(from !== undefined ? { from, to } : {}) };
  }

  private day(): number {
    const tok = this.peek();
    const w = tok?.lower.replace(/s$/, '');
    const i = DAYS.findIndex((d) => d.toLowerCase() === w);
    if (!tok || i < 0) this.fail(['weekdays', 'weekends', 'Monday … Sunday']);
    this.pos++;
    return i;
  }

  private days(): string[] {
    if (this.eat('weekdays')) return DAYS.slice(0, 5);
    if (this.eat('weekends')) return DAYS.slice(5);
    const first = this.day();
    if (this.eat('to') || this.eat('through')) {
      const last = this.day();
      const out: string[] = [];
      for (let i = first; ; i = (i + 1) % 7) {
        out.push(DAYS[i]!);
        if (i === last) break;
      }
      return out;
    }
    const set = new Set([first]);
    for (;;) {
      const save = this.pos;
      const sep = this.eat(',') ? this.eat('and') || true : this.eat('and');
      const w = this.peek()?.lower.replace(/s$/, '');
      if (sep && DAYS.some((d) => d.toLowerCase() === w)) {
        set.add(this.day());
        continue;
      }
      this.pos = save;
      break;
    }
    return [...set].sort((a, b) => a - b).map((i) => DAYS[i]!);
  }

  private hhmm(): number {
    const tok = this.peek();
    if (!tok) this.fail(['HH:MM']);
    const m = HHMM.exec(tok.text);
    if (!m) {
      // Every clock-like word of the sentence is rewritten, so the suggestion is a whole supported sentence.
      const looks = (t: Token) =>
        !t.quoted && /^\d{1,2}(?::\d{2})?(?:am|pm)?$/i.test(t.text) && !HHMM.test(t.text);
      this.invalid(
        tok,
        `"${tok.text}" is not a time of day (HH:MM, 00:00 to 23:59)`,
        clockLike(tok.text),
        (t) => (looks(t) ? clockLike(t.text) : undefined),
      );
    }
    this.pos++;
    return Number(m[1]) * 60 + Number(m[2]);
  }

  // ---- values ----

  private size(): number {
    const tok = this.peek();
    if (!tok) this.fail(['a size (e.g. 1 MiB)']);
    const m = /^(\d{1,12})([A-Za-z]*)$/.exec(tok.text);
    if (!m) this.fail(['a size (e.g. 1 MiB)']);
    this.pos++;
    let unit = m[2]!.toLowerCase();
    if (unit === '') {
      const u = this.peek();
      if (u && SIZE_UNITS[u.lower] !== undefined) {
        unit = u.lower;
        this.pos++;
      } else if (
        u &&
        !u.quoted &&
        /^[a-z]{1,3}$/i.test(u.text) &&
        !KEYWORDS.has(u.lower) &&
        u.lower !== 'to'
      ) {
        this.invalid(u, `"${u.text}": unknown size unit (bytes, KB, KiB, MB, MiB, GB, GiB)`, 'MiB');
      } else unit = 'b';
    }
    const f = SIZE_UNITS[unit];
    if (f === undefined)
      this.invalid(tok, `"${tok.text}": unknown size unit (bytes, KB, KiB, MB, MiB, GB, GiB)`, `${m[1]}MiB`);
    const n = Number(m[1]) * f;
    if (!Number.isSafeInteger(n)) this.invalid(tok, `"${tok.text}" is too large`);
    return n;
  }

  private int(what: string): number {
    const tok = this.peek();
    if (!tok || !/^\d{1,9}$/.test(tok.text)) return this.fail([what]);
    this.pos++;
    return Number(tok.text);
  }

  /** The next token's text, which must match `re` (else NLPOLICY_INVALID_VALUE; missing: unsupported). */
  private value(what: string, re: RegExp): string {
    const tok = this.peek();
    if (!tok || tok.text === ',') return this.fail([what]);
    if (tok.quoted || !re.test(tok.text)) this.invalid(tok, `"${tok.text}" is not ${what}`);
    this.pos++;
    return tok.text;
  }

  // ---- token helpers ----

  private peek(k = 0): Token | undefined {
    return this.t[this.pos + k];
  }

  private is(...words: string[]): boolean {
    return words.every((w, i) => {
      const tok = this.t[this.pos + i];
      return tok !== undefined && !tok.quoted && tok.lower === w;
    });
  }

  private eat(...words: string[]): boolean {
    if (!this.is(...words)) return false;
    this.pos += words.length;
    return true;
  }

  private eatAny(options: string[][]): boolean {
    return options.some((o) => this.eat(...o));
  }

  private expect(expected: string[], ...words: string[]): void {
    if (!this.eat(...words)) this.fail(expected);
  }

  private end(): void {
    if (this.pos < this.t.length) this.fail(['end of sentence']);
  }

  /** The sentence's words with `drop` tokens at the cursor replaced by `insert`. */
  private rewrite(drop: number, insert: string): string {
    const fixed = [...this.t];
    const at = this.t[this.pos] ?? this.t[this.t.length - 1]!;
    fixed.splice(this.pos, drop, { ...at, text: insert, lower: insert, quoted: false });
    return joinWords(fixed);
  }

  /** Refuses the sentence at the current token: NLPOLICY_UNSUPPORTED_SENTENCE with the nearest phrasing. */
  private fail(expected: string[], why?: string, fixed?: string): never {
    const tok = this.peek();
    const rest = this.t.slice(this.pos);
    const where = tok ?? this.t[this.t.length - 1]!;
    const words = rest.length > 0 ? joinWords(rest) : '(end of sentence)';
    let suggestion: string;
    const keywords = expected
      .filter((e) => e !== 'end of sentence')
      .map((e) => e.split(' ')[0]!)
      .filter((k) => /^[a-z]+$/.test(k));
    const fix = tok && !tok.quoted ? nearestKeyword(tok.text, keywords) : undefined;
    if (fixed !== undefined) suggestion = fixed;
    else if (fix) {
      const fixed = [...this.t];
      fixed[this.pos] = { ...tok!, text: fix, lower: fix };
      suggestion = joinWords(fixed);
    } else suggestion = nearestTemplate(this.raw.words);
    const column = tok ? tok.column : where.column + where.text.length;
    const msg =
      `${this.source}:${where.line}:${column}: unsupported sentence "${this.raw.words}": ` +
      `${why ?? `expected ${expected.join(' | ')}`} at "${words}"; nearest supported phrasing: "${suggestion}"`;
    return this.raise('NLPOLICY_UNSUPPORTED_SENTENCE', msg, where.line, column, words, suggestion);
  }

  /**
   * Refuses a value in a supported position: NLPOLICY_INVALID_VALUE. The suggestion is the sentence with the value
   * replaced by `replacement` when one is known, else the nearest template.
   */
  private invalid(
    tok: Token,
    why: string,
    replacement?: string,
    others?: (t: Token) => string | undefined,
  ): never {
    let suggestion: string;
    if (replacement !== undefined) {
      const fixed = this.t.map((t) => {
        const r = t === tok ? replacement : others?.(t);
        return r === undefined ? t : { ...t, text: r, quoted: false };
      });
      suggestion = joinWords(fixed);
    } else suggestion = nearestTemplate(this.raw.words);
    const msg = `${this.source}:${tok.line}:${tok.column}: invalid value in "${this.raw.words}": ${why}`;
    return this.raise('NLPOLICY_INVALID_VALUE', msg, tok.line, tok.column, tok.text, suggestion);
  }

  private raise(
    code: NlPolicyErrorCode,
    msg: string,
    line: number,
    column: number,
    words: string,
    suggestion: string,
  ): never {
    throw new NlPolicyError(code, msg, { line, column, words, sentence: this.raw.words, suggestion });
  }
}
