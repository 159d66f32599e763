/**
 * One policy decision: build the opa-envoy-plugin input, run the Wasm, map the decision. This is the single code
 * path behind the authz pipeline's policy step and `sigil policy eval`.
 *
 * Time budget (`sigil.policy.eval_timeout_ms`): inline, opa-wasm evaluation is synchronous and cannot be interrupted
 * from JavaScript, so the budget is enforced by measuring: a decision that took longer than the budget is discarded
 * and becomes a deny with POLICY_TIMEOUT, even if the policy said allow. With `isolation: worker` the bundle runs on
 * a worker thread that is terminated at the deadline (lib/worker-evaluator.ts). Memory is hard-capped by the Wasm memory
 * maximum set at load (a policy that outgrows it traps → POLICY_EVAL_ERROR). docs/policy.md §7 spells out what this
 * does not protect against.
 */

import { type Clock, systemClock } from '../lib/clock.js';
import type { PolicyContext, PolicyVerdict } from './api.js';
import { buildPolicyInput, type PolicyInput } from './build-input.js';
import { PolicyError } from './errors.js';
import { describeThrown, type PolicyBundle } from './load-bundle.js';
import { failureVerdict, mapDecision } from './map-decision.js';

/** Options for {@link evaluatePolicy}. */
export interface EvaluateOptions {
  /** Budget in milliseconds; longer evaluations deny with POLICY_TIMEOUT. Default 50 (the config default). */
  timeoutMs?: number;
  /** Clock for `time.now_ns()` (frozen in tests). */
  clock?: Clock;
  /** Monotonic timer in nanoseconds (injectable so the timeout path is testable without slow policies). */
  hrtime?: () => bigint;
}

/** Evaluates a ready input document. Never throws: every failure is a deny verdict with a POLICY_* code. */
export function evaluateInput(
  bundle: PolicyBundle,
  input: unknown,
  options: EvaluateOptions = {},
): PolicyVerdict {
  const timeoutMs = options.timeoutMs ?? 50;
  const clock = options.clock ?? systemClock;
  const hr = options.hrtime ?? process.hrtime.bigint;
  const nowNs = BigInt(Math.floor(clock.nowMs())) * 1_000_000n;
  const t0 = hr();
  let resultSet: unknown;
  try {
    if (bundle.evaluateBounded) {
      const o = bundle.evaluateBounded(input, nowNs, timeoutMs);
      if (o.kind === 'timeout') {
        const us = Number((hr() - t0) / 1000n);
        return failureVerdict(
          new PolicyError(
            'POLICY_TIMEOUT',
            `policy evaluation stopped after ${timeoutMs} ms (worker terminated)`,
          ),
          bundle.revision,
          us,
        );
      }
      if (o.kind === 'error') throw new Error(o.message);
      resultSet = o.resultSet;
    } else {
      resultSet = bundle.evaluate(input, nowNs);
    }
  } catch (e) {
    const us = Number((hr() - t0) / 1000n);
    return failureVerdict(
      new PolicyError('POLICY_EVAL_ERROR', `policy evaluation failed: ${describeThrown(e)}`, e),
      bundle.revision,
      us,
    );
  }
  const us = Number((hr() - t0) / 1000n);
  if (us > timeoutMs * 1000) {
    return failureVerdict(
      new PolicyError(
        'POLICY_TIMEOUT',
        `policy evaluation took ${(us / 1000).toFixed(1)} ms, over the ${timeoutMs} ms budget`,
      ),
      bundle.revision,
      us,
    );
  }
  // ABI result set: [] when the decision is undefined, [{result: x}] otherwise.
  if (!Array.isArray(resultSet) || resultSet.length === 0) {
    return failureVerdict(
      new PolicyError(
        'POLICY_RESULT_INVALID',
        `policy decision ${bundle.entrypoint} is undefined for this input (add a default rule)`,
      ),
      bundle.revision,
      us,
    );
  }
  if (resultSet.length > 1) {
    return failureVerdict(
      new PolicyError(
        'POLICY_RESULT_INVALID',
        `policy decision ${bundle.entrypoint} has ${resultSet.length} results`,
      ),
      bundle.revision,
      us,
    );
  }
  try {
    return mapDecision((resultSet[0] as { result?: unknown }).result, bundle.revision, us);
  } catch (e) {
    if (e instanceof PolicyError) return failureVerdict(e, bundle.revision, us);
    throw e;
  }
}

/** Builds the input for `ctx` and evaluates it (the authz pipeline's policy step). Never throws. */
export function evaluatePolicy(
  bundle: PolicyBundle,
  ctx: PolicyContext,
  options: EvaluateOptions = {},
): PolicyVerdict {
  let input: PolicyInput;
  try {
    input = buildPolicyInput(ctx);
  } catch (e) {
    if (e instanceof PolicyError) return failureVerdict(e, bundle.revision);
    return failureVerdict(
      new PolicyError('POLICY_INPUT_INVALID', `cannot build policy input: ${describeThrown(e)}`, e),
      bundle.revision,
    );
  }
  return evaluateInput(bundle, input, options);
}
