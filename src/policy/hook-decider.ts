/**
 * The policy step as the authz pipeline's hook (src/policy/api.ts HookDecider): builds
 * `input.sigil` from the hook's context, decides with a {@link PolicyEngine}, and maps the verdict back.
 */
import type {
  HeaderEntry,
  HookContext,
  HookDecider,
  HookVerdict,
  PolicyContext,
  PolicyVerdict,
  SigilPolicyInput,
} from './api.js';
import { PolicyEngine, type PolicyEngineOptions, type PolicyReplicaOptions } from './policy-engine.js';

/** The decider {@link startPolicyDecider} returns, with its engine so other views (admin API) can share one bundle. */
export interface PolicyDeciderHandle extends HookDecider {
  /** The engine behind the decider: `bundle`, `lastLoadError`, `refresh()` for the policy view and uploads. */
  readonly engine: PolicyEngine;
  close(): Promise<void>;
}

/** `input.sigil` from the authz hook's context (docs/policy.md §3). */
export function sigilInputFromHook(ctx: HookContext): SigilPolicyInput {
  const tools = [...ctx.tools];
  const c = ctx.chain;
  if (!c) {
    return {
      valid: false,
      code: ctx.publicRoute ? 'AUTHZ_PUBLIC_ROUTE' : 'AUTHZ_NO_CHAIN',
      hops: [],
      tools,
      public_route: ctx.publicRoute,
    };
  }
  return {
    valid: true,
    code: 'OK',
    sub: c.sub,
    iss: c.iss,
    task_id: c.task_id,
    ...(tools.length === 1 ? { tool: tools[0] } : {}),
    tools,
    tool_scope: [...c.tool_scope],
    depth: c.depth,
    exp: c.exp,
    hops: c.hops.map((h) => ({
      sub: h.sub,
      iss: h.iss,
      jti: h.jti,
      tool_scope: [...h.tool_scope],
      exp: h.exp,
    })),
    public_route: ctx.publicRoute,
  };
}

/** Joins repeated header values (RFC 9110 §5.3) for the hook's single-valued header map. */
function headerRecord(list: HeaderEntry[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { key, value } of list) {
    const k = key.toLowerCase();
    out[k] = out[k] === undefined ? value : `${out[k]}, ${value}`;
  }
  return out;
}

/** Maps a native verdict onto the authz hook's verdict shape. */
function toHookVerdict(v: PolicyVerdict): HookVerdict {
  const out: HookVerdict = { allow: v.allowed, policyRev: v.revision };
  if (v.headers.length > 0) {
    out.headers = headerRecord(v.headers);
    out.headerList = v.headers;
  }
  if (v.dynamicMetadata) out.dynamicMetadata = v.dynamicMetadata;
  if (v.allowed) {
    if (v.requestHeadersToRemove.length > 0) out.headersToRemove = v.requestHeadersToRemove;
    if (v.responseHeadersToAdd.length > 0) out.responseHeadersToAdd = v.responseHeadersToAdd;
    if (v.queryParametersToSet.length > 0) out.queryParametersToSet = v.queryParametersToSet;
    if (v.queryParametersToRemove.length > 0) out.queryParametersToRemove = v.queryParametersToRemove;
    return out;
  }
  out.code = v.code;
  out.reason = v.code === 'POLICY_DENIED' ? 'denied by policy' : `policy step failed (${v.code})`;
  out.httpStatus = v.httpStatus;
  if (v.body !== undefined) out.body = v.body;
  return out;
}

/** The authz hook over `engine`. */
function hookDecider(engine: PolicyEngine): PolicyDeciderHandle {
  return {
    engine,
    async decide(ctx: HookContext): Promise<HookVerdict> {
      const native: PolicyContext = {
        checkRequest: ctx.request as Record<string, unknown>,
        sigil: sigilInputFromHook(ctx),
      };
      return toHookVerdict(engine.decide(native, { nowMs: () => ctx.nowMs }, ctx.decisionId));
    },
    get revision() {
      return engine.revision;
    },
    close: () => engine.close(),
  };
}

/**
 * Starts an engine on `options.source` and wraps it as the authz hook. Resolves even when the first load fails
 * (decisions then deny with POLICY_NOT_LOADED until a good bundle appears). With Check workers, its
 * `engine.activeBundle` and `engine.onActivate` feed the workers' replicas (docs/workers.md §3).
 */
export async function startPolicyDecider(options: PolicyEngineOptions): Promise<PolicyDeciderHandle> {
  return hookDecider(await PolicyEngine.start(options));
}

/** A Check worker's policy hook: the primary's bundle, swapped in by {@link activate} (docs/workers.md §3). */
export interface PolicyReplicaHandle extends PolicyDeciderHandle {
  /**
   * Swaps in the primary's bundle `bytes`, announced as `revision` (PolicyEngine.activate): rejects with
   * POLICY_BUNDLE_INVALID for a broken bundle or another revision, keeping the previous one in force.
   */
  activate(bytes: Uint8Array, revision: string): Promise<void>;
}

/**
 * A policy hook that decides exactly like the primary's {@link startPolicyDecider} once given the same bundle
 * bytes and {@link PolicyReplicaOptions} (`policyEvalOptions` of the primary's options). Denies POLICY_NOT_LOADED
 * until the first {@link PolicyReplicaHandle.activate}.
 */
export function startReplicaDecider(options: PolicyReplicaOptions = {}): PolicyReplicaHandle {
  const engine = PolicyEngine.replica(options);
  // Assigned onto the hook, not spread: a spread would freeze the `revision` getter's current value.
  return Object.assign(hookDecider(engine), {
    activate: (bytes: Uint8Array, revision: string) => engine.activate(bytes, revision),
  });
}
