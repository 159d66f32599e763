/**
 * Impact of a candidate policy before it is activated (docs/policy.md §13): recorded decisions are evaluated
 * again under the candidate bundle, through the same input construction, Wasm and decision mapping as the
 * Check path (`evaluatePolicy`), with `time.now_ns()` at the recorded decision time, and every change of
 * outcome (allow→deny, deny→allow) is counted per agent and tool with sample entries.
 *
 * Honest by construction: a decision is only called "replayed" when everything the candidate reads of its
 * input is in the record (lib/replay-fields.ts). Otherwise the entry is counted as not replayable with the
 * fields that are missing, never guessed; entries the candidate fails on are counted apart, with their code.
 */
import { type DecisionRecord, decodeRecord } from '../ledger/index.js';
import { evaluatePolicy } from './evaluate.js';
import type { InputDependencies } from './lib/replay-fields.js';
import { contextFromRecord, reachedPolicy } from './lib/replay-input.js';
import type { PolicyBundle } from './load-bundle.js';

export {
  type InputDependencies,
  inputDependencies,
  RECORDED_INPUT_PATHS,
} from './lib/replay-fields.js';

/** The ledger as a replay reads it (a MerkleLog, or the CLI's read-only open). */
export interface ReplayLog {
  readonly size: number;
  entry(index: number): Uint8Array;
}

/** Options of {@link DecisionReplay}. */
export interface ReplayOptions {
  /** What the candidate reads of its input (`inputDependencies`), or why that is unknown. */
  dependencies: { deps: InputDependencies } | { unknown: string };
  /** Sample entries kept per list (flips, unevaluable, not replayable). Default 20. */
  samples?: number;
  /** Evaluation budget per decision, ms (as `sigil.policy.eval_timeout_ms`). */
  timeoutMs?: number;
}

/** Counts of changed outcomes. */
export interface FlipCounts {
  allow_to_deny: number;
  deny_to_allow: number;
}

/** One replayed entry, as shown in the report. */
export interface ReplaySample {
  index: number;
  id: string;
  ts: number;
  sub?: string;
  tool?: string;
  method?: string;
  host?: string;
  path?: string;
  /** Recorded outcome and code. */
  was: 'allow' | 'deny';
  was_code: string;
  /** The candidate's outcome and code (absent for entries that were not evaluated). */
  now?: 'allow' | 'deny';
  now_code?: string;
  /** Why the entry was not evaluated or failed. */
  reason?: string;
}

/** What {@link DecisionReplay.report} returns. */
export interface ReplayReport {
  /** Candidate bundle revision. */
  revision: string;
  /** Ledger entries looked at (in the time range). */
  entries: number;
  /** Decisions denied before the policy step (token, chain, scope, request): no policy can change them. */
  before_policy: number;
  /** Entries standing for several unauthenticated denies (`kind` aggregate/dropped): no request to replay. */
  aggregated: { entries: number; denies: number };
  /** Entries that are not decision records. */
  opaque: number;
  /** Decisions evaluated again exactly. */
  replayed: number;
  unchanged: number;
  flips: FlipCounts;
  /** Flips per leaf agent (`sub`, `(none)` on public routes) and per tool (`(none)` when none). */
  by_agent: Record<string, FlipCounts>;
  by_tool: Record<string, FlipCounts>;
  /** Sample flips, oldest first. */
  samples: ReplaySample[];
  /** Decisions the candidate reads unrecorded fields for: counted, not evaluated. */
  not_replayable: { count: number; reason?: string; fields: string[]; samples: ReplaySample[] };
  /** Decisions the candidate failed on (eval error, undefined decision, bad input, timeout), by code. */
  unevaluable: { count: number; by_code: Record<string, number>; samples: ReplaySample[] };
  /** Input paths the candidate reads (`opa deps`), when known. */
  reads?: string[];
}

/** Codes of a verdict that is a failure of the candidate, not a decision. */
const FAILURE_CODES = new Set([
  'POLICY_EVAL_ERROR',
  'POLICY_RESULT_INVALID',
  'POLICY_INPUT_INVALID',
  'POLICY_TIMEOUT',
]);

function sample(index: number, r: DecisionRecord): ReplaySample {
  const s: ReplaySample = { index, id: r.id, ts: r.ts, was: r.decision, was_code: r.code };
  if (r.sub !== undefined) s.sub = r.sub;
  if (r.tool !== undefined) s.tool = r.tool;
  if (r.method !== undefined) s.method = r.method;
  if (r.host !== undefined) s.host = r.host;
  if (r.path !== undefined) s.path = r.path;
  return s;
}

function bump(map: Record<string, FlipCounts>, key: string, dir: keyof FlipCounts): void {
  if (!Object.hasOwn(map, key)) map[key] = { allow_to_deny: 0, deny_to_allow: 0 };
  map[key]![dir]++;
}

/**
 * Replays decision records one at a time ({@link add}) and accumulates the report, so a ledger of any size
 * streams through in constant memory (bounded by the distinct agents and tools that flip).
 */
export class DecisionReplay {
  private readonly r: ReplayReport;
  private readonly max: number;
  private readonly exact: boolean;

  constructor(
    private readonly bundle: PolicyBundle,
    private readonly options: ReplayOptions,
  ) {
    this.max = options.samples ?? 20;
    const dep = options.dependencies;
    const unrecorded = 'deps' in dep ? dep.deps.unrecorded : [];
    this.exact = 'deps' in dep && unrecorded.length === 0;
    const reason =
      'unknown' in dep
        ? dep.unknown
        : unrecorded.length > 0
          ? `the policy reads ${unrecorded.join(', ')}, which the ledger does not keep`
          : undefined;
    this.r = {
      revision: bundle.revision,
      entries: 0,
      before_policy: 0,
      aggregated: { entries: 0, denies: 0 },
      opaque: 0,
      replayed: 0,
      unchanged: 0,
      flips: { allow_to_deny: 0, deny_to_allow: 0 },
      by_agent: Object.create(null) as Record<string, FlipCounts>,
      by_tool: Object.create(null) as Record<string, FlipCounts>,
      samples: [],
      not_replayable: { count: 0, ...(reason ? { reason } : {}), fields: unrecorded, samples: [] },
      unevaluable: { count: 0, by_code: Object.create(null) as Record<string, number>, samples: [] },
      ...('deps' in dep ? { reads: dep.deps.reads } : {}),
    };
  }

  /** An entry that is not a decision record. */
  addOpaque(): void {
    this.r.entries++;
    this.r.opaque++;
  }

  /** Replays one recorded decision (entry `index`). */
  add(index: number, record: DecisionRecord): void {
    const r = this.r;
    r.entries++;
    if (record.kind !== undefined) {
      r.aggregated.entries++;
      r.aggregated.denies += record.count ?? 1;
      return;
    }
    if (!reachedPolicy(record)) {
      r.before_policy++;
      return;
    }
    if (!this.exact) {
      r.not_replayable.count++;
      if (r.not_replayable.samples.length < this.max)
        r.not_replayable.samples.push({ ...sample(index, record), reason: r.not_replayable.reason! });
      return;
    }
    const verdict = evaluatePolicy(this.bundle, contextFromRecord(record), {
      clock: { nowMs: () => record.ts },
      ...(this.options.timeoutMs !== undefined ? { timeoutMs: this.options.timeoutMs } : {}),
    });
    if (FAILURE_CODES.has(verdict.code)) {
      r.unevaluable.count++;
      r.unevaluable.by_code[verdict.code] = (r.unevaluable.by_code[verdict.code] ?? 0) + 1;
      if (r.unevaluable.samples.length < this.max)
        r.unevaluable.samples.push({
          ...sample(index, record),
          now: 'deny',
          now_code: verdict.code,
          ...(verdict.message ? { reason: verdict.message } : {}),
        });
      return;
    }
    r.replayed++;
    const now = verdict.allowed ? 'allow' : 'deny';
    if (now === record.decision) {
      r.unchanged++;
      return;
    }
    const dir: keyof FlipCounts = now === 'deny' ? 'allow_to_deny' : 'deny_to_allow';
    r.flips[dir]++;
    bump(r.by_agent, record.sub ?? '(none)', dir);
    bump(r.by_tool, record.tool ?? '(none)', dir);
    if (r.samples.length < this.max)
      r.samples.push({ ...sample(index, record), now, now_code: verdict.code });
  }

  /**
   * Replays every entry of `log` recorded in [since, until] (epoch ms). A full scan in index order: aggregates
   * are appended after later decisions, so a time-index scan would need the same per-record check anyway.
   */
  scan(log: ReplayLog, since = 0, until = Number.MAX_SAFE_INTEGER): this {
    return this.scanRange(log, 0, log.size, since, until);
  }

  /**
   * {@link scan}, giving the event loop back every `chunk` entries: inside `sigil serve` (the admin API) Checks keep
   * being answered while a large ledger is replayed.
   */
  async scanYielding(
    log: ReplayLog,
    since = 0,
    until = Number.MAX_SAFE_INTEGER,
    chunk = 1000,
  ): Promise<this> {
    const size = log.size;
    for (let from = 0; from < size; from += chunk) {
      this.scanRange(log, from, Math.min(size, from + chunk), since, until);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return this;
  }

  private scanRange(log: ReplayLog, from: number, to: number, since: number, until: number): this {
    for (let i = from; i < to; i++) {
      let record: DecisionRecord;
      try {
        record = decodeRecord(log.entry(i));
      } catch {
        this.addOpaque();
        continue;
      }
      if (record.ts >= since && record.ts <= until) this.add(i, record);
    }
    return this;
  }

  /** The report so far. */
  report(): ReplayReport {
    return this.r;
  }
}
