/**
 * The decision pipeline behind Authorization/Check (docs/authz.md): request → token → chain (cached) →
 * binding → tool scope → policy → ledger → response. Every step throws a SigilError with a stable code;
 * this file turns any throw into a deny (fail closed) and records every decision before answering.
 */
import { randomUUID } from 'node:crypto';
import type { CheckRequest, CheckResponse } from '../../gen/envoy/service/auth/v3/external_auth_pb.js';
import type { DecisionRecord } from '../ledger/record.js';
import type { Clock } from '../lib/clock.js';
import { SigilError } from '../lib/errors.js';
import type { ChainSummary, HookDecider, HookVerdict } from '../policy/api.js';
import type { VerifiedChain } from '../token/api.js';
import { scopeAllows } from '../token/scope-allows.js';
import type { ChainCache } from './chain-cache.js';
import { checkBinding, type PeerBinding } from './check-binding.js';
import { AuthzError } from './errors.js';
import { extractRequest, type RequestView } from './extract-request.js';
import { extractToken } from './extract-token.js';
import { DEFAULT_VERDICT, defaultPolicy } from './policy-hook.js';
import type { ToolResolver } from './resolve-tool.js';
import { allowResponse, denyResponse, SIGIL_HEADER_PREFIX } from './respond.js';

/** Where a decision went in the ledger (becomes the x-sigil-receipt header). */
export interface DecisionReceipt {
  /** 0-based leaf index of the record. */
  index: number;
  /** Compact reference to check against a checkpoint later, e.g. `index=7; leaf=<hash>` (docs/authz.md §Receipt). */
  receipt: string;
}

/** The ledger as the pipeline needs it: durable append (group-committed) of one decision. */
export interface DecisionSink {
  append(record: DecisionRecord): Promise<DecisionReceipt>;
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
  /** policy.eval_timeout_ms */
  policyTimeoutMs: number;
  /** Called after every decision (metrics, logs). Must not throw; a throw is swallowed. */
  onDecision?: (event: DecisionEvent) => void;
}

/** One Check: never throws, always resolves to a CheckResponse. */
export type CheckFn = (req: CheckRequest) => Promise<CheckResponse>;

interface Deny {
  code: string;
  message: string;
  http: number;
}

function toDeny(e: unknown): Deny {
  if (e instanceof SigilError) {
    const http = e.httpStatus >= 400 && e.httpStatus <= 599 ? e.httpStatus : 403;
    return { code: e.code, message: e.message, http };
  }
  return { code: 'AUTHZ_INTERNAL', message: 'internal error', http: 500 };
}

/** RFC 6750 §3: challenge for 401s, insufficient_scope for scope denials. */
function challenge(d: Deny): Record<string, string> | undefined {
  if (d.http === 401) {
    if (d.code === 'AUTHZ_NO_TOKEN') return { 'www-authenticate': 'Bearer realm="sigil"' };
    return { 'www-authenticate': 'Bearer realm="sigil", error="invalid_token"' };
  }
  if (d.code === 'AUTHZ_TOOL_NOT_IN_SCOPE' || d.code === 'TBIT_AUDIENCE_MISMATCH') {
    return { 'www-authenticate': 'Bearer realm="sigil", error="insufficient_scope"' };
  }
  return undefined;
}

/**
 * The policy's view of a chain, built once per cached chain and deep-frozen: the policy gets no handle on
 * the cached VerifiedChain, so even a buggy decider cannot widen a scope for later Checks.
 */
const summaries = new WeakMap<VerifiedChain, ChainSummary>();

function summary(chain: VerifiedChain, tokenHash: string): ChainSummary {
  const known = summaries.get(chain);
  if (known !== undefined) return known;
  const s: ChainSummary = Object.freeze({
    sub: chain.leaf.sub,
    iss: chain.hops[0]!.claims.iss,
    task_id: chain.leaf.task_id,
    aud:
      typeof chain.leaf.aud === 'string' ? chain.leaf.aud : (Object.freeze([...chain.leaf.aud]) as string[]),
    tool_scope: Object.freeze([...chain.leaf.tool_scope]) as string[],
    depth: chain.depth,
    exp: chain.exp,
    token_hash: tokenHash,
    hops: Object.freeze(
      chain.hops.map((h) =>
        Object.freeze({
          sub: h.claims.sub,
          iss: h.claims.iss,
          jti: h.claims.jti,
          tool_scope: Object.freeze([...h.claims.tool_scope]) as string[],
          exp: h.claims.exp,
        }),
      ),
    ) as ChainSummary['hops'],
  });
  summaries.set(chain, s);
  return s;
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new AuthzError('AUTHZ_POLICY_ERROR', `policy took more than ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]{1,256}$/;
const HEADER_VALUE = /^[^\r\n\0]{0,8192}$/;
const CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

/**
 * Adds one header a policy asked for, lower-cased and filtered: never `x-sigil-*` or the token header, and
 * only names/values Envoy accepts (RFC 9110 §5.1 token; no CR, LF or NUL) so a policy bug cannot break the answer.
 */
function addPolicyHeader(out: Record<string, string>, k: unknown, v: unknown, tokenHeader: string): void {
  const key = String(k).toLowerCase();
  const value = String(v);
  if (key.startsWith(SIGIL_HEADER_PREFIX) || key === tokenHeader) return;
  if (HEADER_NAME.test(key) && HEADER_VALUE.test(value)) out[key] = value;
}

/** {@link addPolicyHeader} for each own key of a policy's header map (for-in: no entries array, hot path). */
function policyHeaders(h: Record<string, unknown> | undefined, tokenHeader: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (h) for (const k in h) if (Object.hasOwn(h, k)) addPolicyHeader(out, k, h[k], tokenHeader);
  return out;
}

/** Headers the upstream must not see: the token (when stripped) and any client-supplied x-sigil-*. */
function headersToRemove(view: RequestView, o: CheckOptions, ours: Record<string, string>): string[] {
  const out: string[] = [];
  if (o.stripToken && view.headers[o.tokenHeader] !== undefined) out.push(o.tokenHeader);
  // view.headers has a null prototype: for-in sees exactly its own keys, without a key array.
  for (const k in view.headers) {
    if (k.startsWith(SIGIL_HEADER_PREFIX) && !(k in ours)) out.push(k);
  }
  return out;
}

/** Builds the Check function from its parts (the composition root wires real ones). */
export function createCheck(o: CheckOptions): CheckFn {
  return async (req) => {
    const t0 = process.hrtime.bigint();
    const id = randomUUID();
    const ts = o.clock.nowMs();
    // Every field up front (undefined = absent: the ledger skips them): one object shape for all
    // records, no property-array growth as the pipeline fills them in.
    const record: DecisionRecord = {
      v: 1,
      id,
      ts,
      decision: 'deny',
      code: 'AUTHZ_INTERNAL',
      http_status: 500,
      method: undefined,
      host: undefined,
      path: undefined,
      peer: undefined,
      token_hash: undefined,
      sub: undefined,
      task_id: undefined,
      depth: undefined,
      tool: undefined,
      chain: undefined,
      policy_rev: undefined,
    };
    let response: CheckResponse;
    let cacheHit: boolean | undefined;
    let error: unknown;
    let verdict: HookVerdict | undefined;
    let allowParts: Parameters<typeof allowResponse>[0] | undefined;
    let deny: Deny | undefined;
    try {
      const view = extractRequest(req, o.maxBodyBytes);
      record.method = view.method;
      record.host = view.host.slice(0, 256);
      record.path = view.path.slice(0, 1024);
      if (view.principal !== undefined) record.peer = view.principal.slice(0, 512);
      const publicRoute = o.tools.isPublic(view);
      let chain: VerifiedChain | undefined;
      let tokenHash: string | undefined;
      let chainSummary: ChainSummary | undefined;
      if (!publicRoute) {
        const token = extractToken(view, o.tokenHeader);
        const got = await o.chains.get(token);
        cacheHit = got.hit;
        chain = got.chain;
        tokenHash = got.tokenHash;
        record.token_hash = tokenHash;
        record.sub = chain.leaf.sub;
        record.task_id = chain.leaf.task_id;
        record.depth = chain.depth;
        checkBinding(chain, view.principal, o.peerBinding);
      }
      const resolved = o.tools.resolve(view);
      if (resolved.tools.length > 0) record.tool = resolved.tools.join(',').slice(0, 1024);
      if (chain) {
        if (resolved.tools.length === 0 && o.requireTool !== false) {
          throw new AuthzError('AUTHZ_NO_TOOL', 'no tool found in body, header or routes');
        }
        for (const t of resolved.tools) {
          if (!scopeAllows(chain.leaf.tool_scope, t)) {
            throw new AuthzError(
              'AUTHZ_TOOL_NOT_IN_SCOPE',
              `tool ${JSON.stringify(t.slice(0, 64))} is not in scope`,
            );
          }
        }
        chainSummary = summary(chain, tokenHash!);
        record.chain = chainSummary.hops;
      }
      try {
        // The built-in policy's verdict is a constant: no context to build, no promise to wait for.
        // Only external deciders get the context and the timer.
        verdict =
          o.policy === defaultPolicy
            ? DEFAULT_VERDICT
            : await withTimeout(
                Promise.resolve(
                  o.policy.decide({
                    request: req,
                    ...(chainSummary ? { chain: chainSummary } : {}),
                    tools: resolved.tools,
                    toolSource: resolved.source,
                    publicRoute,
                    decisionId: id,
                    nowMs: ts,
                  }),
                ),
                o.policyTimeoutMs,
              );
      } catch (e) {
        if (e instanceof AuthzError) throw e;
        throw new AuthzError('AUTHZ_POLICY_ERROR', 'policy evaluation failed', e);
      }
      if (typeof verdict !== 'object' || verdict === null) {
        throw new AuthzError('AUTHZ_POLICY_ERROR', 'policy returned no verdict');
      }
      if (verdict.policyRev !== undefined) record.policy_rev = String(verdict.policyRev).slice(0, 128);
      if (verdict.allow !== true) {
        const http =
          Number.isInteger(verdict.httpStatus) && verdict.httpStatus! >= 400 && verdict.httpStatus! <= 599
            ? verdict.httpStatus!
            : 403;
        deny = {
          code:
            typeof verdict.code === 'string' && CODE.test(verdict.code)
              ? verdict.code
              : 'AUTHZ_POLICY_DENIED',
          message: typeof verdict.reason === 'string' ? verdict.reason.slice(0, 1024) : 'denied by policy',
          http,
        };
      } else {
        const upstream = policyHeaders(verdict.headers, o.tokenHeader);
        upstream['x-sigil-decision-id'] = id;
        if (chain) {
          upstream['x-sigil-sub'] = chain.leaf.sub;
          upstream['x-sigil-task-id'] = chain.leaf.task_id;
          upstream['x-sigil-depth'] = String(chain.depth);
        }
        if (resolved.tools.length > 0) upstream['x-sigil-tool'] = resolved.tools.join(',');
        const remove = headersToRemove(view, o, upstream);
        // A custom decider's lists are not typed at run time: anything but an array is a policy error.
        const listsOk =
          (verdict.headersToRemove === undefined || Array.isArray(verdict.headersToRemove)) &&
          (verdict.responseHeadersToAdd === undefined || Array.isArray(verdict.responseHeadersToAdd));
        if (!listsOk) throw new AuthzError('AUTHZ_POLICY_ERROR', 'policy returned malformed header lists');
        if (verdict.headersToRemove) {
          for (const h of verdict.headersToRemove) {
            const key = String(h).toLowerCase();
            if (HEADER_NAME.test(key) && !key.startsWith(SIGIL_HEADER_PREFIX) && !remove.includes(key))
              remove.push(key);
          }
        }
        const downstream: Record<string, string> = {};
        if (verdict.responseHeadersToAdd) {
          for (const h of verdict.responseHeadersToAdd)
            addPolicyHeader(downstream, h?.key, h?.value, o.tokenHeader);
        }
        downstream['x-sigil-decision-id'] = id;
        allowParts = {
          decisionId: id,
          upstream,
          remove,
          downstream,
          ...(verdict.dynamicMetadata ? { dynamicMetadata: verdict.dynamicMetadata } : {}),
        };
      }
    } catch (e) {
      error = e;
      deny = toDeny(e);
    }

    let receipt: DecisionReceipt | undefined;
    let ledgerError: unknown;
    if (allowParts) {
      record.decision = 'allow';
      record.code = 'OK';
      record.http_status = 200;
    } else {
      deny ??= { code: 'AUTHZ_INTERNAL', message: 'internal error', http: 500 };
      record.decision = 'deny';
      record.code = deny.code;
      record.http_status = deny.http;
    }
    try {
      receipt = await o.ledger.append(record);
    } catch (e) {
      ledgerError = e;
    }
    if (allowParts && receipt) {
      allowParts.downstream['x-sigil-receipt'] = receipt.receipt;
      allowParts.upstream['x-sigil-receipt'] = receipt.receipt;
      response = allowResponse(allowParts);
    } else {
      if (allowParts) {
        // Recorded-before-answer is the rule: an allow the ledger did not take becomes a deny.
        deny = {
          code: 'AUTHZ_LEDGER_UNAVAILABLE',
          message: 'the audit ledger could not record the decision',
          http: 503,
        };
        record.decision = 'deny';
        record.code = deny.code;
        record.http_status = deny.http;
      }
      const d = deny!;
      const policyDeny = verdict && verdict.allow !== true ? verdict : undefined;
      const extra = policyHeaders(policyDeny?.headers, o.tokenHeader);
      response = denyResponse({
        decisionId: id,
        code: d.code,
        message: d.message,
        httpStatus: d.http,
        headers: { ...extra, ...challenge(d), ...(receipt ? { 'x-sigil-receipt': receipt.receipt } : {}) },
        ...(policyDeny?.body !== undefined && d.code !== 'AUTHZ_LEDGER_UNAVAILABLE'
          ? { body: policyDeny.body }
          : {}),
        ...(policyDeny?.dynamicMetadata ? { dynamicMetadata: policyDeny.dynamicMetadata } : {}),
      });
    }
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
