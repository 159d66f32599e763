/**
 * The authz fuzzer (issue #18): a coverage-guided loop over {@link FuzzInput}s through the real in-process
 * Check (checkFromConfig, the path `sigil serve` wires), with the built-in policy and with an OPA-compiled Wasm
 * bundle. Coverage is V8's precise block coverage (node:inspector, Profiler.takePreciseCoverage) of src/authz
 * and src/policy; an input that reaches a new block or a new hit-count bucket joins the corpus.
 * Oracle per input: never a throw or AUTHZ_INTERNAL; a deny carries a stable code with its HTTP status; an allow
 * has a verified caller (or a public route), every tool the lenient upstream (lenient-upstream.ts) would run is
 * in scope and among the tools SIGIL checked, and SIGIL's receipt header reaches the upstream; a Check takes at
 * most `maxMs`. A failure is minimized and written to a file whose path the thrown error names.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { AUTHZ_HTTP_STATUS, type CheckFn } from '../../../src/authz/index.js';
import { loadConfig } from '../../../src/config/index.js';
import type { DecisionRecord } from '../../../src/ledger/record.js';
import { frozenClock } from '../../../src/lib/clock.js';
import type { HookDecider } from '../../../src/policy/index.js';
import { checkFromConfig, createPolicyDecider } from '../../../src/serve/index.js';
import { scopeAllows } from '../../../src/token/scope-allows.js';
import { opaBuildSources, tempDir } from '../../policy/support.js';
import { deniedOf, headerRecord, okOf } from '../check-request.js';
import { agentId, testIdentity } from '../identity.js';
import { type FuzzInput, SCOPE, serializeInput, toCheckRequest } from './input.js';
import { upstreamCalls } from './lenient-upstream.js';
import { mutate, Rng } from './mutate.js';

/** A Check under test, and the last decision it recorded. */
export interface Target {
  name: 'builtin' | 'opa';
  check: CheckFn;
  last(): DecisionRecord | undefined;
}

/** The policy of the OPA target: identity as TBIT decided, plus a parsed_body rule (exercises the body input). */
const REGO = `package envoy.authz

default allow := false

allow if {
	input.sigil.valid
	not blocked
}

allow if {
	input.sigil.public_route
	input.attributes.request.http.method in {"GET", "HEAD"}
}

blocked if input.parsed_body.params.name == "blocked"
`;

/** Fuzz targets and the caller's token; `close` stops the OPA decider and removes its bundle. */
export async function makeTargets(
  opa: boolean,
): Promise<{ token: string; targets: Target[]; close(): Promise<void> }> {
  // Before any Check runs: V8 gives block counts only to functions compiled after coverage started.
  coverage();
  const clock = frozenClock(1_767_225_600_000);
  const id = testIdentity(clock);
  const token = id.mint({ scope: [...SCOPE] }).token;
  const tmp = tempDir('sigil-fuzz-');
  const deciders: HookDecider[] = [];
  const authz = {
    routes: [
      { method: 'POST', path: '/upload', tool: 'search' },
      { method: '*', path: '/tools/{name}', tool: '{name}' },
    ],
    public_routes: [{ method: 'GET', path: '/health' }],
  };
  const make = async (name: Target['name']): Promise<Target> => {
    let policy: Record<string, unknown> = {};
    if (name === 'opa') {
      const file = join(tmp.dir, 'bundle.tar.gz');
      writeFileSync(file, opaBuildSources({ 'p.rego': REGO }));
      policy = { bundle: file, eval_timeout_ms: 5000 };
    }
    const config = loadConfig({
      env: {},
      overrides: { agent: { spiffe_id: agentId('local') }, authz, policy },
    });
    let decider: HookDecider | undefined;
    if (name === 'opa') {
      decider = (await createPolicyDecider(config, { registry: new Registry(), clock }))!;
      deciders.push(decider);
    }
    let last: DecisionRecord | undefined;
    let n = 0;
    const ledger = {
      append: async (r: DecisionRecord) => {
        last = r;
        return { index: n, receipt: `index=${n++}` };
      },
    };
    const { check } = checkFromConfig(config, {
      trust: id.trust,
      ledger,
      clock,
      ...(decider ? { policy: decider } : {}),
    });
    return { name, check, last: () => last };
  };
  const targets = [await make('builtin'), ...(opa ? [await make('opa')] : [])];
  return {
    token,
    targets,
    async close() {
      await Promise.all(deciders.map((d) => d.close?.()));
      tmp.cleanup();
    },
  };
}

/** A Check's outcome. */
export interface Verdict {
  allow: boolean;
  code: string;
  status: number;
  /** Tools SIGIL checked (from its decision record). */
  tools: string[];
  ms: number;
  /** Allow: the answer sets x-sigil-receipt and does not remove it. */
  receiptKept: boolean;
}

/** Runs `input` through `t`. */
export async function run(t: Target, input: FuzzInput, token: string): Promise<Verdict> {
  const req = toCheckRequest(input, token);
  const t0 = performance.now();
  const res = await t.check(req);
  const ms = performance.now() - t0;
  const rec = t.last();
  const tools = rec?.tool ? rec.tool.split(',') : [];
  const ok = okOf(res);
  if (ok) {
    const set = headerRecord(ok.headers);
    const receiptKept =
      typeof set['x-sigil-receipt'] === 'string' && !ok.headersToRemove.includes('x-sigil-receipt');
    return { allow: true, code: 'OK', status: 200, tools, ms, receiptKept };
  }
  const d = deniedOf(res)!;
  const code = String((JSON.parse(d.body) as { code?: unknown }).code);
  return { allow: false, code, status: Number(d.status?.code), tools, ms, receiptKept: false };
}

const STATUS = AUTHZ_HTTP_STATUS as Readonly<Record<string, number>>;

/** Is this request on the configured public route (no caller to check)? */
const isPublic = (x: FuzzInput) => x.method === 'GET' && x.path.split(/[?#]/, 1)[0] === '/health';

/** The oracle: undefined when `v` is a right answer to `input`, else what is wrong ("kind: detail"). */
export function judge(input: FuzzInput, v: Verdict): string | undefined {
  if (!v.allow) {
    if (v.code === 'AUTHZ_INTERNAL') return 'internal: AUTHZ_INTERNAL deny';
    if (v.code in STATUS)
      return STATUS[v.code] === v.status ? undefined : `status: ${v.code} with ${v.status}`;
    return /^(TBIT|POLICY)_[A-Z_]+$/.test(v.code) ? undefined : `code: unstable deny code ${v.code}`;
  }
  if (!v.receiptKept) return 'receipt: allow without SIGIL x-sigil-receipt reaching the upstream';
  if (isPublic(input)) return undefined;
  if (input.token !== 'scoped') return `wrong-allow: allowed without a valid token (${input.token})`;
  for (const t of v.tools) if (!scopeAllows(SCOPE, t)) return `wrong-allow: checked tool ${t} out of scope`;
  // The REST route /tools/{name}: the upstream (Express) runs the percent-decoded segment.
  const seg = /^\/tools\/([^/]+)$/.exec(input.path.split(/[?#]/, 1)[0]!)?.[1];
  if (seg !== undefined) {
    let tool: string | undefined;
    try {
      tool = decodeURIComponent(seg);
    } catch {
      // Express answers 400 for a bad escape: nothing runs.
    }
    if (tool !== undefined && !v.tools.includes(tool))
      return `wrong-allow: route runs ${JSON.stringify(tool)}, SIGIL checked ${v.tools}`;
  }
  const up = upstreamCalls(input.headers, input.body);
  if (up.unknown) return 'wrong-allow: truncated body whose rest could be a call';
  for (const t of up.tools) {
    if (!scopeAllows(SCOPE, t)) return `wrong-allow: upstream runs ${JSON.stringify(t)}, out of scope`;
    if (!v.tools.includes(t))
      return `wrong-allow: upstream runs ${JSON.stringify(t)}, SIGIL checked ${v.tools}`;
  }
  return undefined;
}

/** Judges `input` on `t`, re-running a slow Check twice so a scheduler or GC pause is not a failure. */
export async function failureOf(
  t: Target,
  input: FuzzInput,
  token: string,
  maxMs: number,
): Promise<string | undefined> {
  let v: Verdict;
  try {
    v = await run(t, input, token);
  } catch (e) {
    return `throw: ${(e as Error).stack ?? String(e)}`;
  }
  const bad = judge(input, v);
  if (bad !== undefined) return bad;
  let ms = v.ms;
  for (let i = 0; i < 2 && ms > maxMs; i++) ms = Math.min(ms, (await run(t, input, token)).ms);
  return ms > maxMs ? `slow: Check took ${ms.toFixed(0)} ms (bound ${maxMs} ms)` : undefined;
}

/** Shrinks `input` while it keeps failing the same way (headers dropped, body chunks removed). */
export async function minimize(
  input: FuzzInput,
  stillFails: (x: FuzzInput) => Promise<boolean>,
  budget = 400,
): Promise<FuzzInput> {
  let best = input;
  const tryIt = async (x: FuzzInput) => {
    if (budget-- <= 0 || !(await stillFails(x))) return false;
    best = x;
    return true;
  };
  for (const k of Object.keys(best.headers)) {
    const headers = { ...best.headers };
    delete headers[k];
    await tryIt({ ...best, headers });
  }
  const len = () => best.body?.length ?? 0;
  for (let chunk = Math.max(1, len() >> 1); chunk >= 1 && budget > 0; chunk >>= 1) {
    for (let at = 0; at < len() && budget > 0; ) {
      const b = best.body!;
      if (
        !(await tryIt({
          ...best,
          body: new Uint8Array(Buffer.concat([b.subarray(0, at), b.subarray(at + chunk)])),
        }))
      )
        at += chunk;
    }
  }
  return best;
}

/** Block coverage of the files matching `filter`, as features: block × log2 bucket of its count. */
export class Coverage {
  private readonly session = new Session();
  private readonly seen = new Set<string>();
  constructor(private readonly filter: RegExp) {
    this.session.connect();
    this.post('Profiler.enable');
    this.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
    this.reset();
  }
  /** Forgets the features seen and the counts so far. */
  reset(): void {
    this.take();
    this.seen.clear();
  }
  private post(method: string, params?: object): unknown {
    let out: unknown;
    let err: Error | null = null;
    // An in-thread session answers synchronously.
    this.session.post(method, params, (e, r) => {
      err = e;
      out = r;
    });
    if (err) throw err;
    return out;
  }
  /** Counts since the last call; returns how many features are new. */
  take(): number {
    type Range = { startOffset: number; endOffset: number; count: number };
    const r = this.post('Profiler.takePreciseCoverage') as {
      result: Array<{ url: string; functions: Array<{ ranges: Range[] }> }>;
    };
    let fresh = 0;
    for (const s of r.result) {
      if (!this.filter.test(s.url)) continue;
      for (const f of s.functions) {
        for (const g of f.ranges) {
          if (g.count === 0) continue;
          const key = `${s.url}:${g.startOffset}:${g.endOffset}:${Math.min(8, Math.floor(Math.log2(g.count)))}`;
          if (!this.seen.has(key)) {
            this.seen.add(key);
            fresh++;
          }
        }
      }
    }
    return fresh;
  }
  /** Features seen so far. */
  get features(): number {
    return this.seen.size;
  }
  /** Distinct blocks (ignoring count buckets) seen so far. */
  get blocks(): number {
    return new Set([...this.seen].map((k) => k.slice(0, k.lastIndexOf(':')))).size;
  }
}

let shared: Coverage | undefined;

/**
 * The process's coverage of src/authz and src/policy, started on first use and never stopped: V8 instruments
 * blocks only in functions compiled after it starts, so a restart would see function counts only.
 */
export function coverage(): Coverage {
  shared ??= new Coverage(/\/src\/(authz|policy)\//);
  return shared;
}

/** Options of {@link fuzz}. */
export interface FuzzOptions {
  seeds: readonly FuzzInput[];
  targets: Target[];
  token: string;
  seed: number;
  /** Stop after this many inputs, or this many seconds (whichever first). */
  iterations?: number;
  seconds?: number;
  /** Per-Check time bound, ms. */
  maxMs: number;
  /** Where a failing input is written. */
  outDir: string;
  /** Progress line every ~30 s. */
  log?: (line: string) => void;
}

/** Figures of a finished run. */
export interface FuzzStats {
  iterations: number;
  checks: number;
  corpus: number;
  features: number;
  blocks: number;
  allows: number;
  denyCodes: Record<string, number>;
  maxMs: Record<string, number>;
  seconds: number;
  /** Of `seconds`, spent taking coverage. */
  coverageSeconds: number;
}

const MAX_BODY = 1_200_000;
const MAX_CORPUS = 20_000;

/** Runs the loop; throws an Error naming the written failure file on the first oracle failure. */
export async function fuzz(o: FuzzOptions): Promise<FuzzStats> {
  const rng = new Rng(o.seed);
  const cov = coverage();
  cov.reset();
  const corpus: FuzzInput[] = [...o.seeds];
  const stats: FuzzStats = {
    iterations: 0,
    checks: 0,
    corpus: 0,
    features: 0,
    blocks: 0,
    allows: 0,
    denyCodes: {},
    maxMs: {},
    seconds: 0,
    coverageSeconds: 0,
  };
  const t0 = performance.now();
  let lastLog = t0;
  const deadline = o.seconds === undefined ? Infinity : t0 + o.seconds * 1000;
  const limit = o.iterations ?? Infinity;
  try {
    // The seeds first, then mutants.
    for (let i = 0; stats.iterations < limit && performance.now() < deadline; i++) {
      let x: FuzzInput;
      if (i < o.seeds.length) x = o.seeds[i]!;
      else {
        const parent =
          rng.next() < 0.5
            ? corpus[corpus.length - 1 - rng.int(Math.min(100, corpus.length))]!
            : rng.pick(corpus);
        x = mutate(parent, rng, corpus);
        if (x.body && x.body.length > MAX_BODY) x = { ...x, body: x.body.subarray(0, MAX_BODY) };
      }
      for (const t of o.targets) {
        const v = await run(t, x, o.token).catch((e: unknown) => e as Error);
        stats.checks++;
        const bad = v instanceof Error ? `throw: ${v.stack}` : judge(x, v);
        let failure = bad;
        if (!(v instanceof Error)) {
          stats.maxMs[t.name] = Math.max(stats.maxMs[t.name] ?? 0, v.ms);
          if (v.allow) stats.allows++;
          else stats.denyCodes[v.code] = (stats.denyCodes[v.code] ?? 0) + 1;
          if (failure === undefined && v.ms > o.maxMs) failure = await failureOf(t, x, o.token, o.maxMs);
        }
        if (failure !== undefined) {
          const kind = failure.slice(0, failure.indexOf(':'));
          const small = await minimize(
            x,
            async (y) => (await failureOf(t, y, o.token, o.maxMs))?.startsWith(`${kind}:`) === true,
          );
          const why = (await failureOf(t, small, o.token, o.maxMs)) ?? failure;
          const text = serializeInput(small);
          const file = join(
            o.outDir,
            `authz-fuzz-${createHash('sha256').update(text).digest('hex').slice(0, 12)}.json`,
          );
          mkdirSync(o.outDir, { recursive: true });
          writeFileSync(
            file,
            `${JSON.stringify({ target: t.name, failure: why, seed: o.seed, iteration: stats.iterations })}\n${text}\n`,
          );
          throw new Error(`fuzz failure on ${t.name} (${why.split('\n', 1)[0]}); minimized input: ${file}`);
        }
      }
      stats.iterations++;
      const c0 = performance.now();
      const fresh = cov.take();
      stats.coverageSeconds += (performance.now() - c0) / 1000;
      if (fresh > 0 && i >= o.seeds.length) {
        if (corpus.length < MAX_CORPUS) corpus.push(x);
        else corpus[o.seeds.length + rng.int(MAX_CORPUS - o.seeds.length)] = x;
      }
      if (o.log && performance.now() - lastLog > 30_000) {
        lastLog = performance.now();
        o.log(
          `fuzz: ${stats.iterations} inputs, corpus ${corpus.length}, ${cov.blocks} blocks, ${cov.features} features`,
        );
      }
    }
  } finally {
    stats.corpus = corpus.length;
    stats.features = cov.features;
    stats.blocks = cov.blocks;
    stats.seconds = (performance.now() - t0) / 1000;
  }
  return stats;
}
