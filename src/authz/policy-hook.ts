/**
 * Step 5 of the decision pipeline: the policy hook. Its port (HookContext, HookVerdict, HookDecider) is defined by
 * the policy module (src/policy/api.ts); the OPA-Wasm decider implements it and `sigil serve` passes it to the
 * pipeline. Without one, {@link defaultPolicy} allows everything that passed steps 1–4 (token, chain, binding,
 * tool scope), which is the built-in policy.
 */
import type { HookDecider, HookVerdict } from '../policy/api.js';

/** The built-in policy's verdict (frozen: the pipeline uses this one object for every Check). */
export const DEFAULT_VERDICT: HookVerdict = Object.freeze({ allow: true, policyRev: 'builtin' });

/** The built-in policy: steps 1–4 already decided, so allow. */
export const defaultPolicy: HookDecider = Object.freeze({
  decide: async (): Promise<HookVerdict> => DEFAULT_VERDICT,
});
