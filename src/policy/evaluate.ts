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
import { PolicyError, type PolicyErrorCode } from './errors.js';
import { describeThrown, type PolicyBundle } from './load-bundle.js';
import { failureVerdict, mapDecision } from './map-decision.js';

/**
 * Default evaluation budget, ms (`sigil.policy.eval_timeout_ms`; docs/policy.md §7 has the measurement behind it).
 */
export const DEFAULT_EVAL_TIMEOUT_MS = 250;

/** Options for {@link evaluatePolicy}. */
export interface EvaluateOptions {
  /** Budget in milliseconds; longer evaluations deny with POLICY_TIMEOUT. Default {@link DEFAULT_EVAL_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Clock for `time.now_ns()` (frozen in tests). */
  clock?: Clock;
  /** Receives each line the policy `print()`s (bundles built with `--wasm-include-print`), in order. */
  onPrint?: (line: string) => void;
}

/**
 * A Wasm abort message names the source file as `opa build` was given it; a bundle built from an absolute path
 * (not by `sigil policy build`) would put the build machine's directories in logs and verdicts. Keep the name.
 */
export function withoutPaths(message: string): string {
  return message.replace(/(?:[A-Za-z]:)?(?:[/\\][^\s:"'/\\]+)+[/\\]([^\s:"'/\\]+\.rego)/g, '$1');
}

/** Evaluates a ready input document. Never throws: every failure is a deny verdict with a POLICY_* code. */
export function evaluateInput(
  bundle: PolicyBundle,
  input: unknown,
  options: EvaluateOptions = {},
): PolicyVerdict {
  const timeoutMs = options.timeoutMs ?? DEFAULT_EVAL_TIMEOUT_MS;
  const nowNs = BigInt(Math.floor((options.clock ?? systemClock).nowMs())) * 1_000_000n;
  const t0 = process.hrtime.bigint();
  const elapsedUs = () => Number((process.hrtime.bigint() - t0) / 1000n);
  const fail = (code: PolicyErrorCode, message: string, us: number, cause?: unknown) =>
    failureVerdict(new PolicyError(code, message, cause), bundle.revision, us);
  let resultSet: unknown;
  let prints: string[] = [];
  try {
    if (bundle.evaluateBounded) {
      const o = bundle.evaluateBounded(input, nowNs, timeoutMs);
      if (o.kind === 'timeout') {
        const msg = `policy evaluation stopped after ${timeoutMs} ms (worker terminated)`;
        return fail('POLICY_TIMEOUT', msg, elapsedUs());
      }
      if (o.kind === 'error') throw new Error(o.message);
      resultSet = o.resultSet;
      prints = o.prints;
    } else {
      resultSet = bundle.evaluate(input, nowNs, prints);
    }
  } catch (e) {
    return fail(
      'POLICY_EVAL_ERROR',
      `policy evaluation failed: ${withoutPaths(describeThrown(e))}`,
      elapsedUs(),
      e,
    );
  } finally {
    if (options.onPrint) for (const line of prints) options.onPrint(line);
  }
  const us = elapsedUs();
  if (us > timeoutMs * 1000) {
    const msg = `policy evaluation took ${(us / 1000).toFixed(1)} ms, over the ${timeoutMs} ms budget`;
    return fail('POLICY_TIMEOUT', msg, us);
  }
  // ABI result set: [] when the decision is undefined, [{result: x}] otherwise.
  if (!Array.isArray(resultSet) || resultSet.length === 0) {
    const msg = `policy decision ${bundle.entrypoint} is undefined for this input (add a default rule)`;
    return fail('POLICY_RESULT_INVALID', msg, us);
  }
  if (resultSet.length > 1) {
    const msg = `policy decision ${bundle.entrypoint} has ${resultSet.length} results`;
    return fail('POLICY_RESULT_INVALID', msg, us);
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
  const v = evaluateInput(bundle, input, options);
  if (v.allowed && answerHasReplacement(v)) {
    // Row 15 of docs/policy.md §5: where SIGIL has U+FFFD the plugin may hold raw bytes that are not UTF-8 (a
    // %FF in the path or query, form bytes, hex.decode/base64.decode output); an answer echoing them is not a
    // valid proto string, the plugin's gRPC marshalling fails and Envoy denies (status_on_error). Deny too.
    return failureVerdict(
      new PolicyError(
        'POLICY_RESULT_INVALID',
        'the decision sends U+FFFD, which may stand for bytes that are not UTF-8 (opa-envoy-plugin cannot send those)',
      ),
      bundle.revision,
      v.evalUs,
    );
  }
  return v;
}

const REPLACEMENT = '\uFFFD';

/** Whether a string the answer sends (headers, query changes, metadata) contains U+FFFD. */
function answerHasReplacement(v: PolicyVerdict): boolean {
  return JSON.stringify([
    v.headers,
    v.responseHeadersToAdd,
    v.requestHeadersToRemove,
    v.queryParametersToRemove,
    v.queryParametersToSet,
    v.dynamicMetadata ?? null,
  ]).includes(REPLACEMENT);
}
