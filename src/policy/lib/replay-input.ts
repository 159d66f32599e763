/**
 * A ledger decision record turned back into what the Check pipeline handed the policy step (docs/policy.md §13):
 * the CheckRequest (ProtoJSON, with the recorded method, host, path and peer principal) and `input.sigil` as
 * `sigilInputFromHook` builds it from the verified chain. Fields the record does not keep (headers, body, query
 * string, source address, …) are absent; src/policy/lib/replay-fields.ts says which policies that makes inexact.
 */
import type { DecisionRecord } from '../../ledger/index.js';
import type { PolicyContext, SigilPolicyInput } from '../api.js';

/**
 * Whether the recorded decision went through the policy step: every allow did; a deny did when the policy
 * answered (`policy_rev` is recorded from every policy verdict) or when the policy step itself failed
 * (AUTHZ_POLICY_*). Any other deny was decided before the policy (token, chain, binding, scope, request): a
 * candidate policy cannot change it, since a policy narrows and never widens.
 */
export function reachedPolicy(r: DecisionRecord): boolean {
  return r.decision === 'allow' || r.policy_rev !== undefined || r.code.startsWith('AUTHZ_POLICY_');
}

/** `input.sigil` for a recorded decision (same shape and order as sigilInputFromHook). */
export function sigilFromRecord(r: DecisionRecord): SigilPolicyInput {
  const tools = r.tool === undefined || r.tool === '' ? [] : r.tool.split(',');
  const chain = r.chain ?? [];
  if (chain.length === 0) {
    // Only public routes reach the policy without a verified chain.
    return { valid: false, code: 'AUTHZ_PUBLIC_ROUTE', hops: [], tools, public_route: true };
  }
  const leaf = chain[chain.length - 1]!;
  return {
    valid: true,
    code: 'OK',
    sub: r.sub ?? leaf.sub,
    iss: chain[0]!.iss,
    task_id: r.task_id ?? '',
    ...(tools.length === 1 ? { tool: tools[0] } : {}),
    tools,
    tool_scope: [...leaf.tool_scope],
    depth: r.depth ?? chain.length,
    exp: Math.min(...chain.map((h) => h.exp)),
    hops: chain.map((h) => ({
      sub: h.sub,
      iss: h.iss,
      jti: h.jti,
      tool_scope: [...h.tool_scope],
      exp: h.exp,
    })),
    public_route: false,
  };
}

/** The policy context of a recorded decision, for `evaluatePolicy`. */
export function contextFromRecord(r: DecisionRecord): PolicyContext {
  const http: Record<string, unknown> = { path: r.path ?? '/' };
  if (r.method !== undefined) http.method = r.method;
  if (r.host !== undefined) http.host = r.host;
  const attributes: Record<string, unknown> = { request: { http } };
  if (r.peer !== undefined) attributes.source = { principal: r.peer };
  return { checkRequest: { attributes }, sigil: sigilFromRecord(r) };
}
