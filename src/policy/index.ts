/**
 * Rego policies through OPA Wasm (docs/policy.md). The authz pipeline uses {@link createPolicyDecider}; the
 * pieces are exported for the CLI, tests and benchmarks.
 */

import type { Registry } from 'prom-client';
import type { SigilConfig } from '../config/index.js';
import type { Clock } from '../lib/clock.js';
import type {
  HeaderEntry,
  HookContext,
  HookDecider,
  HookVerdict,
  PolicyContext,
  PolicyVerdict,
  SigilPolicyInput,
} from './api.js';
import { PolicyEngine, type PolicyLogger } from './policy-engine.js';

export type * from './api.js';
export { buildPolicyInput, type PolicyInput, parsePathAndQuery } from './build-input.js';
export { POLICY_ERROR_CODES, PolicyError, type PolicyErrorCode } from './errors.js';
export { type EvaluateOptions, evaluateInput, evaluatePolicy } from './evaluate.js';
export { isHttpLocation } from './lib/bundle-source.js';
export {
  type BundleManifest,
  DEFAULT_ENTRYPOINT,
  type LoadBundleOptions,
  loadBundle,
  type PolicyBundle,
} from './load-bundle.js';
export { failureVerdict, mapDecision } from './map-decision.js';
export { PolicyEngine, type PolicyEngineOptions, type PolicyLogger } from './policy-engine.js';
export { regoSources } from './rego-sources.js';

/** The decider `createPolicyDecider` returns, with its engine so other views (admin API) can share one bundle. */
export interface PolicyDeciderHandle extends HookDecider {
  /** The engine behind the decider: `bundle`, `lastLoadError`, `refresh()` for the policy view and uploads. */
  readonly engine: PolicyEngine;
}

/** Dependencies of {@link createPolicyDecider}. */
export interface PolicyDeciderDeps {
  logger?: PolicyLogger;
  registry?: Registry;
  clock?: Clock;
  /** Overrides `sigil.policy.poll_interval` (seconds) in milliseconds — tests use a short one. */
  pollIntervalMs?: number;
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

function flatMetadata(m: Record<string, unknown>): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(m)) {
    out[k] = typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : JSON.stringify(v);
  }
  return out;
}

/** Maps a native verdict onto the authz hook's verdict shape. */
export function toHookVerdict(v: PolicyVerdict): HookVerdict {
  const out: HookVerdict = { allow: v.allowed, policyRev: v.revision };
  if (v.headers.length > 0) {
    out.headers = headerRecord(v.headers);
    out.headerList = v.headers;
  }
  if (v.dynamicMetadata) out.dynamicMetadata = flatMetadata(v.dynamicMetadata);
  if (v.allowed) {
    if (v.requestHeadersToRemove.length > 0) out.headersToRemove = v.requestHeadersToRemove;
    if (v.responseHeadersToAdd.length > 0) out.responseHeadersToAdd = v.responseHeadersToAdd;
    return out;
  }
  out.code = v.code;
  out.reason = v.code === 'POLICY_DENIED' ? 'denied by policy' : `policy step failed (${v.code})`;
  out.httpStatus = v.httpStatus;
  if (v.body !== undefined) out.body = v.body;
  return out;
}

/**
 * The policy step for `sigil serve`: undefined when `sigil.policy.bundle` is not set (the pipeline then runs its
 * built-in TBIT-only policy), else a decider backed by a hot-reloaded OPA Wasm bundle. Structurally compatible
 * with src/authz/policy-hook.ts PolicyDecider.
 */
export async function createPolicyDecider(
  config: SigilConfig,
  deps: PolicyDeciderDeps = {},
): Promise<PolicyDeciderHandle | undefined> {
  const p = config.policy;
  if (!p.bundle) return undefined;
  const engine = await PolicyEngine.start({
    source: p.bundle,
    entrypoint: p.entrypoint,
    pollIntervalMs: deps.pollIntervalMs ?? p.poll_interval * 1000,
    evalTimeoutMs: p.eval_timeout_ms,
    isolation: p.isolation,
    ...(deps.logger ? { logger: deps.logger } : {}),
    ...(deps.registry ? { registry: deps.registry } : {}),
    ...(deps.clock ? { clock: deps.clock } : {}),
  });
  return hookDecider(engine);
}

/** Wraps an engine as the authz hook. */
export function hookDecider(engine: PolicyEngine): PolicyDeciderHandle {
  return {
    engine,
    async decide(ctx: HookContext): Promise<HookVerdict> {
      const native: PolicyContext = {
        checkRequest: ctx.request as Record<string, unknown>,
        sigil: sigilInputFromHook(ctx),
      };
      const nowMs = ctx.nowMs;
      return toHookVerdict(engine.decide(native, { nowMs: () => nowMs }));
    },
    get revision() {
      return engine.revision;
    },
    close: () => engine.close(),
  };
}
