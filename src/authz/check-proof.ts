/**
 * Step 4b: proof of possession (docs/proof.md). The caller's Workload Proof Token must be signed by the leaf's
 * `cnf` key and bind this exact request; its `jti` is spent in a bounded replay cache. The mode comes from
 * `authz.proof` and the per-tool / per-path overrides.
 */
import type { VerifiedChain } from '../token/api.js';
import { TbitError } from '../token/errors.js';
import { PROOF_HEADER } from '../token/index.js';
import { scopeAllows } from '../token/scope-allows.js';
import { verifyProof } from '../token/verify-proof.js';
import { AuthzError, type AuthzErrorCode } from './errors.js';
import type { RequestView } from './extract-request.js';
import { createReplayCache, type SpendResult } from './lib/replay-cache.js';
import { compileRoute } from './lib/route-pattern.js';

/** authz.proof */
export type ProofMode = 'require' | 'when_present' | 'off';

/** One entry of authz.proof_overrides: a request matching any tool pattern or path pattern gets `mode`. */
export interface ProofOverride {
  /** Tool-scope patterns (`shell.*`, docs/tbit.md §4.4). */
  tools?: string[];
  /** Route path patterns (docs/authz.md §10), any method. */
  paths?: string[];
  mode: ProofMode;
}

/** What the ledger records about the proof (docs/ledger.md §4 `pop`). */
export type ProofOutcome = 'verified' | 'absent' | 'rejected';

/**
 * Where a proof's `jti` is spent (docs/proof.md §6): the in-process cache (synchronous), or one shared by every
 * Check worker and owned by the primary, answered over IPC (a promise; docs/workers.md §4). `spend` records `jti`
 * as spent until `untilMs` and answers 'fresh', 'replayed' (already spent) or 'full' (no room: nothing stored,
 * the proof is denied rather than a live entry evicted). A rejection (no answer, channel closed, timeout) denies
 * AUTHZ_PROOF_CACHE_UNAVAILABLE. 'full' is kept apart from 'replayed' (not a boolean) so the deny keeps its code.
 */
export interface ReplaySpender {
  spend(jti: string, untilMs: number, nowMs: number): SpendResult | Promise<SpendResult>;
}

/** Options of {@link createProofCheck}. */
export interface ProofCheckOptions {
  mode: ProofMode;
  overrides?: ProofOverride[];
  /** Oldest proof `iat` accepted, seconds (authz.proof_window_s). */
  windowS: number;
  /** Clock skew, seconds (validator.clock_skew). */
  skewS: number;
  /** Replay cache bound, entries (authz.proof_replay_cache_max); unused when `replay` is given. */
  maxEntries: number;
  /** The replay cache to spend in (default: an in-process one of `maxEntries`). */
  replay?: ReplaySpender;
}

/**
 * The step: returns undefined when no proof rule applied (mode off), else the outcome; throws AuthzError. With the
 * in-process cache the answer is synchronous (no promise per Check); with a shared one, a verified proof's
 * outcome is a promise that rejects with AuthzError.
 */
export type ProofCheck = {
  (
    view: RequestView,
    chain: VerifiedChain,
    tools: string[],
    nowMs: number,
  ): ProofOutcome | undefined | Promise<ProofOutcome>;
  /** Live entries of the in-process replay cache (metrics, benchmark); 0 with a shared one. */
  readonly cacheSize: number;
};

const RANK: Readonly<Record<ProofMode, number>> = { off: 0, when_present: 1, require: 2 };
const MAP: Readonly<Record<string, AuthzErrorCode>> = {
  TBIT_PROOF_INVALID: 'AUTHZ_PROOF_INVALID',
  TBIT_PROOF_EXPIRED: 'AUTHZ_PROOF_EXPIRED',
  TBIT_PROOF_MISMATCH: 'AUTHZ_PROOF_MISMATCH',
};

/** A spend's answer as the step's outcome; anything but the three answers denies (fail closed). */
function outcomeOf(spent: SpendResult): ProofOutcome {
  if (spent === 'fresh') return 'verified';
  if (spent === 'replayed') throw new AuthzError('AUTHZ_PROOF_REPLAYED', 'proof jti was already used');
  if (spent === 'full') throw new AuthzError('AUTHZ_PROOF_CACHE_FULL', 'proof replay cache is full');
  throw new AuthzError('AUTHZ_PROOF_CACHE_UNAVAILABLE', `proof replay cache answered ${String(spent)}`);
}

/** A shared cache that did not answer: the proof cannot be known fresh, so the request is denied. */
function unavailable(e: unknown): never {
  throw new AuthzError('AUTHZ_PROOF_CACHE_UNAVAILABLE', 'proof replay cache did not answer', e);
}

/**
 * Builds the proof step. Throws Error for an invalid override pattern (src/serve turns it into a config error).
 * The replay cache never evicts a live entry: a full cache denies `AUTHZ_PROOF_CACHE_FULL` (fail closed).
 */
export function createProofCheck(o: ProofCheckOptions): ProofCheck {
  const overrides = (o.overrides ?? []).map((v) => ({
    tools: v.tools ?? [],
    paths: (v.paths ?? []).map((p) => compileRoute('*', p)),
    mode: v.mode,
  }));
  const local = o.replay === undefined ? createReplayCache(o.maxEntries) : undefined;
  const seen: ReplaySpender = o.replay ?? local!;

  const modeFor = (view: RequestView, tools: string[]): ProofMode => {
    let mode: ProofMode | undefined;
    for (const v of overrides) {
      const hit =
        tools.some((t) => scopeAllows(v.tools, t)) ||
        v.paths.some((p) => p.match(view.method, view.path) !== undefined);
      if (hit && (mode === undefined || RANK[v.mode] > RANK[mode])) mode = v.mode;
    }
    return mode ?? o.mode;
  };

  const step = ((view, chain, tools, nowMs) => {
    const mode = overrides.length === 0 ? o.mode : modeFor(view, tools);
    if (mode === 'off') return undefined;
    const proof = view.headers[PROOF_HEADER];
    if (proof === undefined || proof.trim() === '') {
      if (mode === 'require') throw new AuthzError('AUTHZ_PROOF_MISSING', `no ${PROOF_HEADER} header`);
      return 'absent';
    }
    const now = Math.floor(nowMs / 1000);
    let p: ReturnType<typeof verifyProof>;
    try {
      p = verifyProof(proof.trim(), {
        chain,
        request: {
          method: view.method,
          scheme: view.scheme,
          authority: view.host,
          path: view.path,
          query: view.query,
          body: view.body,
        },
        now,
        windowS: o.windowS,
        skewS: o.skewS,
      });
    } catch (e) {
      const code = e instanceof TbitError ? MAP[e.code] : undefined;
      throw new AuthzError(code ?? 'AUTHZ_PROOF_INVALID', (e as Error).message, e);
    }
    // Kept until the proof could no longer pass the time checks (docs/proof.md §6).
    const untilS = Math.min(p.exp, p.iat + o.windowS) + o.skewS;
    const spent = seen.spend(p.jti, untilS * 1000, nowMs);
    return typeof spent === 'string' ? outcomeOf(spent) : spent.then(outcomeOf, unavailable);
  }) as ProofCheck;
  Object.defineProperty(step, 'cacheSize', { get: () => local?.size ?? 0 });
  return step;
}
