/**
 * Concrete requests for a rule: one it matches and one it does not (the generated tests, §4). Each is an
 * opa-envoy-plugin input document plus the evaluation time, and the same facts in a form a test can turn into a
 * real CheckRequest and token chain.
 */
import type { AgentMatch, Condition, RuleSentence, Subject } from './ir.js';

/** A request described by the facts the policy reads. */
export interface SampleRequest {
  /** Verified chain (false: a public route, no token). */
  valid: boolean;
  sub?: string;
  taskId?: string;
  /** Hop holders, root first; the last is `sub`. */
  hops: string[];
  tools: string[];
  method: string;
  path: string;
  /** Declared body size, when a rule reads it. */
  bodySize?: number;
  /** Evaluation time, epoch ms. */
  nowMs: number;
}

const DEFAULT_SUB = 'spiffe://nlpolicy.test/agent/nlpolicy-agent/i1';
const OTHER_SUB = 'spiffe://nlpolicy-other.test/agent/nlpolicy-other/i9';
const ROOT_SUB = 'spiffe://nlpolicy.test/agent/nlpolicy-root/i0';
/** Monday 5 January 2026, 00:00 UTC: the time search starts here. */
const T0 = Date.UTC(2026, 0, 5);

/** A SPIFFE ID `a` matches. */
function sampleAgent(a: AgentMatch): string {
  switch (a.kind) {
    case 'any-agent':
      return DEFAULT_SUB;
    case 'type':
      return `spiffe://nlpolicy.test/agent/${a.type}/i1`;
    case 'id':
      return a.id;
    case 'prefix':
      return `${a.prefix}nlpolicy-i1`;
    case 'domain':
      return `spiffe://${a.domain}/agent/nlpolicy-agent/i1`;
  }
}

/** True when the SPIFFE ID matches `a` (the same rules as the generated Rego). */
export function agentMatches(a: AgentMatch, id: string): boolean {
  switch (a.kind) {
    case 'any-agent':
      return id.startsWith('spiffe://');
    case 'type': {
      const p = id.split('/');
      return p.length === 6 && p[0] === 'spiffe:' && p[1] === '' && p[3] === 'agent' && p[4] === a.type;
    }
    case 'id':
      return id === a.id;
    case 'prefix':
      return id.startsWith(a.prefix);
    case 'domain':
      return id.startsWith(`spiffe://${a.domain}/`);
  }
}

function sampleTool(p: string): string {
  if (p === '*') return 'nlpolicy.tool';
  return p.endsWith('.*') ? `${p.slice(0, -1)}nlpolicy` : p;
}

const fmt = new Map<string, Intl.DateTimeFormat>();
/** Weekday and minute of the day of `ms` in `zone`. */
function wallClock(ms: number, zone: string): { day: string; minutes: number } {
  let f = fmt.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      weekday: 'long',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    fmt.set(zone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(ms).map((p) => [p.type, p.value]));
  return { day: String(parts.weekday), minutes: Number(parts.hour) * 60 + Number(parts.minute) };
}

/** True when time condition `c` holds at `ms`. */
export function timeHolds(c: Extract<Condition, { kind: 'time' }>, ms: number): boolean {
  const w = wallClock(ms, c.zone);
  if (c.days && !c.days.includes(w.day)) return false;
  if (c.from === undefined || c.to === undefined) return true;
  return c.from < c.to ? w.minutes >= c.from && w.minutes < c.to : w.minutes >= c.from || w.minutes < c.to;
}

/** True when `ok` holds at some minute of the 8 days from T0 (every weekday, every zone offset). */
export function someWeekTime(ok: (ms: number) => boolean): boolean {
  return findTime(ok) !== undefined;
}

/**
 * A minute of the 8 days from T0 at which `ok` holds, or undefined. Quarter hours (7 minutes past, off the usual
 * boundaries) are tried first; then every minute, since conditions are minute-grained (09:05–09:10).
 */
function findTime(ok: (ms: number) => boolean): number | undefined {
  const end = T0 + 8 * 86_400_000;
  for (let ms = T0 + 7 * 60_000; ms < end; ms += 15 * 60_000) if (ok(ms)) return ms;
  for (let ms = T0; ms < end; ms += 60_000) if (ok(ms)) return ms;
  return undefined;
}

function subjectFacts(s: Subject, r: SampleRequest): void {
  if (s.anyone) return;
  r.valid = true;
  if (s.agent) r.sub = sampleAgent(s.agent);
  if (s.task?.kind === 'task') r.taskId = s.task.id;
  if (s.task?.kind === 'task-prefix') r.taskId = `${s.task.prefix}nlpolicy`;
}

/** A request `rule` matches (undefined when its conditions contradict each other). */
export function positiveRequest(rule: RuleSentence): SampleRequest | undefined {
  const r: SampleRequest = {
    valid: true,
    sub: DEFAULT_SUB,
    taskId: 'nlpolicy-task',
    hops: [],
    tools: [],
    method: 'GET',
    path: '/nlpolicy',
    nowMs: T0 + 7 * 60_000,
  };
  subjectFacts(rule.subject, r);
  const a = rule.action;
  if (a.kind === 'tools') r.tools = [sampleTool(a.tools[0]!)];
  if (a.kind === 'route') {
    r.method = a.methods === 'any' ? 'GET' : a.methods[0]!;
    r.path = a.subtree ? `${a.path}/nlpolicy` : a.path;
  }
  let depth = 1;
  let root: string | undefined;
  const times: Extract<Condition, { kind: 'time' }>[] = [];
  for (const c of rule.conditions) {
    if (c.kind === 'depth')
      depth = Math.max(depth, c.op === '<=' ? 1 : c.op === '<' ? 1 : c.op === '>=' ? c.n : c.n + 1);
    if (c.kind === 'delegated-by' || (c.kind === 'chain-includes' && !c.negated)) {
      depth = Math.max(depth, 2);
      root = sampleAgent(c.agent);
    }
    if (c.kind === 'body') r.bodySize = c.op === '<=' ? c.bytes : c.bytes + 1;
    if (c.kind === 'time') times.push(c);
  }
  r.hops = chain(r.sub ?? DEFAULT_SUB, depth, root);
  if (times.length > 0) {
    const t = findTime((ms) => times.every((c) => timeHolds(c, ms)));
    if (t === undefined) return undefined;
    r.nowMs = t;
  }
  return r;
}

function chain(sub: string, depth: number, root?: string): string[] {
  const hops = Array.from({ length: depth }, (_, i) =>
    i === 0 ? (root ?? ROOT_SUB) : `${ROOT_SUB.slice(0, -1)}${i}`,
  );
  hops[depth - 1] = depth === 1 && root ? root : sub;
  return hops;
}

/**
 * A request `rule` does not match: the positive one with the subject, else the action, else one condition
 * changed. Undefined when the rule matches every request (`anyone may do anything`).
 */
export function negativeRequest(rule: RuleSentence, pos: SampleRequest): SampleRequest | undefined {
  const r: SampleRequest = { ...pos, hops: [...pos.hops], tools: [...pos.tools] };
  const s = rule.subject;
  // A deny about "any agent" also matches tokenless requests (rego.ts): change the action instead.
  const anyCaller = rule.effect === 'deny' && s.agent?.kind === 'any-agent' && !s.task;
  if (!s.anyone && !anyCaller) {
    if (s.agent && s.agent.kind !== 'any-agent') {
      r.sub = OTHER_SUB;
      r.hops[r.hops.length - 1] = OTHER_SUB;
    } else if (s.task) r.taskId = 'nlpolicy-other-task';
    else {
      r.valid = false;
      delete r.sub;
      delete r.taskId;
      r.hops = [];
    }
    return r;
  }
  const a = rule.action;
  if (a.kind === 'tools') {
    r.tools = a.tools.includes('*') ? [] : ['nlpolicy-other.tool'];
    return r;
  }
  if (a.kind === 'route' && a.methods !== 'any') {
    r.method = a.methods.includes('PATCH') ? 'OPTIONS' : 'PATCH';
    return r;
  }
  if (a.kind === 'route' && !(a.subtree && a.path === '')) {
    r.path = '/nlpolicy-other';
    return r;
  }
  const c = rule.conditions[0];
  if (!c) return undefined;
  switch (c.kind) {
    case 'depth': {
      const d = c.op === '<=' ? c.n + 1 : c.op === '<' ? c.n : c.op === '>=' ? c.n - 1 : c.n;
      if (d < 1) return undefined;
      r.hops = chain(r.sub ?? DEFAULT_SUB, d);
      return r;
    }
    case 'delegated-by':
      r.hops = chain(r.sub ?? DEFAULT_SUB, 1);
      return r;
    case 'chain-includes':
      r.hops = c.negated
        ? chain(r.sub ?? DEFAULT_SUB, 2, sampleAgent(c.agent))
        : chain(r.sub ?? DEFAULT_SUB, 2);
      return r;
    case 'body':
      r.bodySize = c.op === '<=' ? c.bytes + 1 : c.bytes;
      return r;
    case 'time': {
      const t = findTime((ms) => !timeHolds(c, ms));
      if (t === undefined) return undefined;
      r.nowMs = t;
      return r;
    }
  }
}

/** The opa-envoy-plugin input document (docs/policy.md §3) for a sample request. */
export function inputDocument(r: SampleRequest): Record<string, unknown> {
  const http: Record<string, unknown> = { method: r.method, path: r.path, headers: {} };
  if (r.bodySize !== undefined) http.size = r.bodySize;
  const sigil: Record<string, unknown> = r.valid
    ? {
        valid: true,
        code: 'OK',
        sub: r.sub,
        task_id: r.taskId,
        tools: r.tools,
        depth: r.hops.length,
        hops: r.hops.map((sub) => ({ sub })),
        ...(r.tools.length === 1 ? { tool: r.tools[0] } : {}),
      }
    : { valid: false, code: 'AUTHZ_PUBLIC_ROUTE', public_route: true, tools: r.tools, hops: [] };
  return {
    attributes: { request: { http } },
    parsed_path: r.path
      .split('?')[0]!
      .replace(/^\/+/, '')
      .split('/')
      .map((seg) => decodeURIComponent(seg)),
    sigil,
  };
}
