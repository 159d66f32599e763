/**
 * The decision pipeline behind Authorization/Check (docs/authz.md §2). This file only orchestrates; each step
 * has its own file: 0 request (extract-request.ts), 1 token (extract-token.ts), 2 chain (chain-cache.ts),
 * 3 peer binding and 4 tool scope (check-caller.ts, tools from resolve-tool.ts), 4b proof of possession
 * (check-proof.ts), 5 policy (apply-policy.ts),
 * 6 record and answer (respond.ts; the ledger append is the DecisionSink that src/serve wires).
 * Every step throws a SigilError with a stable code; any throw becomes a deny (fail closed), and every
 * decision is recorded before the answer.
 */
import { randomUUID } from 'node:crypto';
import type { CheckRequest, CheckResponse } from '../../gen/envoy/service/auth/v3/external_auth_pb.js';
import type { DecisionRecord } from '../ledger/record.js';
import type { Clock } from '../lib/clock.js';
import type { ChainSummary, HookDecider } from '../policy/api.js';
import { claimedIdentity } from '../token/claimed-identity.js';
import { applyVerdict, askPolicy, chainSummary, DEFAULT_VERDICT, defaultPolicy } from './apply-policy.js';
import type { CachedChain, ChainCache } from './chain-cache.js';
import { checkBinding, checkToolScope, type PeerBinding } from './check-caller.js';
import type { ProofCheck } from './check-proof.js';
import { extractRequest } from './extract-request.js';
import { extractToken } from './extract-token.js';
import { sourceAddress } from './lib/source-address.js';
import type { ToolResolver } from './resolve-tool.js';
import { LEDGER_UNAVAILABLE, type Outcome, openRecord, respond, settle, toDeny } from './respond.js';

/** Where a decision went in the ledger (becomes the x-sigil-receipt header). */
export interface DecisionReceipt {
  /** 0-based leaf index of the record. */
  index: number;
  /** Compact reference to check against a checkpoint later, e.g. `index=7; leaf=<hash>` (docs/authz.md §Receipt). */
  receipt: string;
}

/**
 * Who a decision was made for, as the sink sees it (never stored as such; docs/authz.md §2 step 6). A sink may
 * store the denies of unverified callers more cheaply (src/serve aggregates them per source and code).
 */
export interface DecisionOrigin {
  /**
   * True once the caller's token chain verified (steps 1–2 passed). False for public routes and for every
   * deny decided before a token verified: no token, garbage, forged, expired, revoked, a bad request.
   */
  verified: boolean;
  /** Envoy's `attributes.source` address (IP without port, or a pipe path), when it sent one. */
  source: string | undefined;
}

/** The ledger as the pipeline needs it: durable append (group-committed) of one decision. */
export interface DecisionSink {
  /**
   * Records `record`; resolves with its receipt once durable. May resolve undefined (no receipt, answered
   * without waiting for a commit) only for a deny whose `origin` is not verified; an allow without a receipt
   * becomes 503 `AUTHZ_LEDGER_UNAVAILABLE`.
   */
  append(record: DecisionRecord, origin: DecisionOrigin): Promise<DecisionReceipt | undefined>;
}

/** What happened, for metrics and logs. */
export interface DecisionEvent {
  record: DecisionRecord;
  receipt: DecisionReceipt | undefined;
  cacheHit: boolean | undefined;
  /** Pipeline time in seconds. */
  seconds: number;
  /** Set (not undefined) when the decision came from an exception (logged with stack at debug). */
  error?: unknown;
  /** Set when the ledger refused the record. */
  ledgerError?: unknown;
}

/** Options of {@link createCheck}. */
export interface CheckOptions {
  chains: ChainCache;
  tools: ToolResolver;
  ledger: DecisionSink;
  policy: HookDecider;
  clock: Clock;
  tokenHeader: string;
  stripToken: boolean;
  peerBinding: PeerBinding;
  maxBodyBytes: number;
  /** authz.require_tool: deny verified requests that name no tool (default true). */
  requireTool?: boolean;
  /** Step 4b, proof of possession (createProofCheck; docs/proof.md). Absent = proofs are ignored. */
  proof?: ProofCheck;
  /** policy.eval_timeout_ms */
  policyTimeoutMs: number;
  /** Called after every decision (metrics, logs). Must not throw; a throw is swallowed. */
  onDecision?: (event: DecisionEvent) => void;
}

/**
 * Adds to a deny's record what its unverified token claimed (docs/authz.md §2 step 6; record version 2,
 * docs/ledger.md §4 "Claimed identities"). Bounded and non-throwing: it can never change the decision.
 */
function recordClaims(record: DecisionRecord, token: string): void {
  try {
    const c = claimedIdentity(token);
    if (c === undefined) return;
    record.v = 2;
    record.claimed = { verified: false, ...c };
  } catch {
    // Unreachable by design (claimedIdentity never throws); a claim is worth less than the deny.
  }
}

/** One Check: never throws, always resolves to a CheckResponse. */
export type CheckFn = (req: CheckRequest) => Promise<CheckResponse>;

/** Builds the Check function from its parts (the composition root wires real ones). */
export function createCheck(o: CheckOptions): CheckFn {
  return async (req) => {
    const t0 = process.hrtime.bigint();
    const id = randomUUID();
    const ts = o.clock.nowMs();
    const record = openRecord(id, ts);
    let cacheHit: boolean | undefined;
    let verified = false;
    let token: string | undefined;
    let error: unknown;
    let outcome: Outcome;
    try {
      // 0: the request.
      const view = extractRequest(req, o.maxBodyBytes);
      record.method = view.method;
      record.host = view.host.slice(0, 256);
      record.path = view.path.slice(0, 1024);
      if (view.principal !== undefined) record.peer = view.principal.slice(0, 512);
      const publicRoute = o.tools.isPublic(view);
      // 1–3: token, chain, peer binding (a public route has no caller to check).
      let caller: CachedChain | undefined;
      if (!publicRoute) {
        token = extractToken(view, o.tokenHeader);
        caller = await o.chains.get(token);
        verified = true;
        cacheHit = caller.hit;
        record.token_hash = caller.tokenHash;
        record.sub = caller.chain.leaf.sub;
        record.task_id = caller.chain.leaf.task_id;
        record.depth = caller.chain.depth;
        checkBinding(caller.chain, view.principal, o.peerBinding);
      }
      // 4: the tools, and the caller's scope over them.
      const resolved = o.tools.resolve(view);
      if (resolved.tools.length > 0) record.tool = resolved.tools.join(',').slice(0, 1024);
      let summary: ChainSummary | undefined;
      if (caller) {
        checkToolScope(caller.chain, resolved.tools, o.requireTool !== false);
        summary = chainSummary(caller.chain, caller.tokenHash);
        record.chain = summary.hops;
        // 4b: proof of possession by the leaf's cnf key.
        if (o.proof) {
          try {
            const pop = o.proof(view, caller.chain, resolved.tools, ts);
            // A promise only from a shared replay cache (docs/workers.md §4): the local path stays synchronous.
            record.pop = typeof pop === 'object' ? await pop : pop;
          } catch (e) {
            record.pop = 'rejected';
            throw e;
          }
        }
      }
      // 5: the policy. The built-in one's verdict is a constant: no context to build, no promise to wait for.
      const verdict =
        o.policy === defaultPolicy
          ? DEFAULT_VERDICT
          : await askPolicy(
              o.policy,
              {
                request: req,
                ...(summary ? { chain: summary } : {}),
                tools: resolved.tools,
                toolSource: resolved.source,
                publicRoute,
                decisionId: id,
                nowMs: ts,
              },
              o.policyTimeoutMs,
            );
      if (verdict.policyRev !== undefined) record.policy_rev = String(verdict.policyRev).slice(0, 128);
      outcome = applyVerdict(verdict, view, caller?.chain, resolved.tools, id, o);
    } catch (e) {
      error = e;
      outcome = toDeny(e);
      // A token was presented but its chain did not verify: record what it claimed, apart and unverified.
      if (token !== undefined && !verified) recordClaims(record, token);
    }

    // 6: record, then answer.
    settle(record, outcome);
    let receipt: DecisionReceipt | undefined;
    let ledgerError: unknown;
    try {
      receipt = await o.ledger.append(record, {
        verified,
        source: verified ? undefined : sourceAddress(req),
      });
    } catch (e) {
      ledgerError = e;
    }
    // Recorded-before-answer is the rule: an allow the ledger did not take becomes a deny.
    if (!receipt && !('code' in outcome)) {
      outcome = LEDGER_UNAVAILABLE;
      settle(record, outcome);
    }
    const response = respond(id, outcome, receipt?.receipt);
    if (o.onDecision) {
      try {
        o.onDecision({
          record,
          receipt,
          cacheHit,
          seconds: Number(process.hrtime.bigint() - t0) / 1e9,
          error,
          ledgerError,
        });
      } catch {
        // Observability must never change a decision.
      }
    }
    return response;
  };
}
