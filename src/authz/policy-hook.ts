/**
 * Step 5 of the decision pipeline: the policy hook. The OPA-Wasm policy (src/policy/) implements
 * {@link PolicyDecider}; `sigil serve` passes it to the authz server. Without one, {@link defaultPolicy}
 * allows everything that passed steps 1–4 (token, chain, binding, tool scope), which is the built-in policy.
 *
 * Contract (docs/authz.md §Policy hook):
 * - The decider is only called for requests that steps 1–4 allowed: a policy can narrow, never widen.
 * - `request` is the CheckRequest exactly as decoded with PROTO_LOADER_OPTIONS (src/authz/proto.ts).
 * - A throw or a rejected promise becomes a deny with code AUTHZ_POLICY_ERROR (fail closed).
 */
import type { RecordedHop } from '../ledger/record.js';
import type { HookVerdict } from '../policy/api.js';
import type { CheckRequest } from './types.js';

/** What the pipeline knows about the verified chain (never the raw token). */
export interface ChainSummary {
  /** Leaf holder's SPIFFE ID. */
  sub: string;
  /** Root issuer. */
  iss: string;
  task_id: string;
  /** Leaf audience as in the token. */
  aud: string | string[];
  /** Leaf tool_scope patterns. */
  tool_scope: string[];
  /** Chain depth (root = 1). */
  depth: number;
  /** Earliest exp along the chain, NumericDate seconds. */
  exp: number;
  /** base64url SHA-256 of the presented token. */
  token_hash: string;
  /** Root first, leaf last. */
  hops: RecordedHop[];
}

/** Input of one policy decision. */
export interface PolicyContext {
  /** The decoded CheckRequest (proto-loader object form). */
  request: CheckRequest;
  /** The verified chain; absent only on public routes presented without a token. */
  chain?: ChainSummary;
  /** Tools the request asks for (MCP batch: several); empty on public routes without one. */
  tools: string[];
  /** Where the tools came from. */
  toolSource: 'mcp' | 'header' | 'route' | 'none';
  /** True when the request matched `authz.public_routes`. */
  publicRoute: boolean;
  /** This decision's id (also in the ledger and headers). */
  decisionId: string;
  /** Decision time, epoch milliseconds (the pipeline's injectable clock). */
  nowMs: number;
}

/** A policy's answer (defined once, in the policy module). */
export type PolicyVerdict = HookVerdict;

/** The hook the policy module implements. */
export interface PolicyDecider {
  decide(ctx: PolicyContext): Promise<PolicyVerdict>;
  /** Releases resources (bundle pollers, Wasm instances) on shutdown. */
  close?(): Promise<void>;
}

/** The built-in policy's verdict (frozen: the pipeline uses this one object for every Check). */
export const DEFAULT_VERDICT: PolicyVerdict = Object.freeze({ allow: true, policyRev: 'builtin' });

/** The built-in policy: steps 1–4 already decided, so allow. */
export const defaultPolicy: PolicyDecider = Object.freeze({
  decide: async (): Promise<PolicyVerdict> => DEFAULT_VERDICT,
});
