/**
 * Step 5: the policy hook. Its port (HookContext, HookVerdict, HookDecider) is defined by the policy module
 * (src/policy/api.ts); `sigil serve` passes the OPA-Wasm decider. Without one, {@link defaultPolicy} allows
 * everything that passed steps 1–4 (token, chain, binding, tool scope). The verdict then becomes the parts
 * of the answer ({@link applyVerdict}); nothing a policy returns is trusted as typed.
 */
import type { ChainSummary, HeaderEntry, HookContext, HookDecider, HookVerdict } from '../policy/api.js';
import type { VerifiedChain } from '../token/api.js';
import { PROOF_HEADER } from '../token/index.js';
import { AuthzError } from './errors.js';
import type { RequestView } from './extract-request.js';
import { type Outcome, SIGIL_HEADER_PREFIX } from './respond.js';

/** The built-in policy's verdict (frozen: the pipeline uses this one object for every Check). */
export const DEFAULT_VERDICT: HookVerdict = Object.freeze({ allow: true, policyRev: 'builtin' });

/** The built-in policy: steps 1–4 already decided, so allow. */
export const defaultPolicy: HookDecider = Object.freeze({
  decide: async (): Promise<HookVerdict> => DEFAULT_VERDICT,
});

/**
 * The policy's view of a chain, built once per cached chain and deep-frozen: the policy gets no handle on
 * the cached VerifiedChain, so even a buggy decider cannot widen a scope for later Checks.
 */
const summaries = new WeakMap<VerifiedChain, ChainSummary>();
const frozen = (a: readonly string[]): string[] => Object.freeze([...a]) as string[];

/** The frozen {@link ChainSummary} of `chain` (also what the ledger records as `chain`). */
export function chainSummary(chain: VerifiedChain, tokenHash: string): ChainSummary {
  let s = summaries.get(chain);
  if (s === undefined) {
    const leaf = chain.leaf;
    s = Object.freeze({
      sub: leaf.sub,
      iss: chain.hops[0]!.claims.iss,
      task_id: leaf.task_id,
      aud: typeof leaf.aud === 'string' ? leaf.aud : frozen(leaf.aud),
      tool_scope: frozen(leaf.tool_scope),
      depth: chain.depth,
      exp: chain.exp,
      token_hash: tokenHash,
      hops: Object.freeze(
        chain.hops.map(({ claims: c }) =>
          Object.freeze({ sub: c.sub, iss: c.iss, jti: c.jti, tool_scope: frozen(c.tool_scope), exp: c.exp }),
        ),
      ) as ChainSummary['hops'],
    });
    summaries.set(chain, s);
  }
  return s;
}

/**
 * An external decider's verdict, bounded by `ms` (policy.eval_timeout_ms). A throw, a rejection, no answer in
 * time or no verdict object → AUTHZ_POLICY_ERROR (fail closed).
 */
export async function askPolicy(policy: HookDecider, ctx: HookContext, ms: number): Promise<HookVerdict> {
  let timer: NodeJS.Timeout | undefined;
  let verdict: HookVerdict;
  try {
    verdict = await Promise.race([
      policy.decide(ctx),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new AuthzError('AUTHZ_POLICY_ERROR', `policy took more than ${ms} ms`)),
          ms,
        );
      }),
    ]);
  } catch (e) {
    if (e instanceof AuthzError) throw e;
    throw new AuthzError('AUTHZ_POLICY_ERROR', 'policy evaluation failed', e);
  } finally {
    clearTimeout(timer);
  }
  if (typeof verdict !== 'object' || verdict === null) {
    throw new AuthzError('AUTHZ_POLICY_ERROR', 'policy returned no verdict');
  }
  return verdict;
}

const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]{1,256}$/;
const HEADER_VALUE = /^[^\r\n\0]{0,8192}$/;
const CODE = /^[A-Z][A-Z0-9_]{0,63}$/;
/** Stands in for an absent list without allocating one per Check. */
const NONE: readonly never[] = Object.freeze([]);

/**
 * Whether a header a policy asked for may go out: never `x-sigil-*` or the token header (any case), and only
 * names/values Envoy accepts (RFC 9110 §5.1 token; no CR, LF or NUL) so a policy bug cannot break the answer.
 */
function allowedHeader(key: string, value: string, tokenHeader: string): boolean {
  const k = key.toLowerCase();
  return (
    !k.startsWith(SIGIL_HEADER_PREFIX) && k !== tokenHeader && HEADER_NAME.test(k) && HEADER_VALUE.test(value)
  );
}

/**
 * A policy's headers as opa-envoy-plugin sends them: in order, repeats kept, names as written (Envoy compares
 * names case-insensitively), minus the ones {@link allowedHeader} refuses. From `headerList` when the decider
 * gives one, else from the `headers` map. Throws AUTHZ_POLICY_ERROR when the list is not a list.
 */
function policyHeaders(v: HookVerdict, tokenHeader: string): HeaderEntry[] {
  const out: HeaderEntry[] = [];
  if (v.headerList !== undefined) {
    if (!Array.isArray(v.headerList))
      throw new AuthzError('AUTHZ_POLICY_ERROR', 'policy returned malformed headers');
    for (const h of v.headerList) {
      const key = String(h?.key);
      const value = String(h?.value);
      if (allowedHeader(key, value, tokenHeader)) out.push({ key, value });
    }
    return out;
  }
  const h = v.headers;
  if (h)
    for (const k in h)
      if (Object.hasOwn(h, k) && allowedHeader(k, String(h[k]), tokenHeader))
        out.push({ key: k, value: String(h[k]) });
  return out;
}

/** Query parameters to set, filtered to strings (a custom decider is not typed at run time). */
function queryToSet(v: HookVerdict): HeaderEntry[] {
  const list = v.queryParametersToSet ?? NONE;
  if (!Array.isArray(list))
    throw new AuthzError('AUTHZ_POLICY_ERROR', 'policy returned malformed query parameters');
  return list.map((q) => ({ key: String(q?.key), value: String(q?.value) }));
}

/**
 * The answer's parts for `verdict`: a policy deny (its code if shaped like one, else AUTHZ_POLICY_DENIED; its HTTP
 * status when an integer 100–599, else 403; its headers and body as given), or an allow carrying the policy's
 * headers and query changes plus SIGIL's identity headers. Throws AUTHZ_POLICY_ERROR when an allow's lists are
 * malformed.
 */
export function applyVerdict(
  verdict: HookVerdict,
  view: RequestView,
  chain: VerifiedChain | undefined,
  tools: string[],
  id: string,
  o: { tokenHeader: string; stripToken: boolean },
): Outcome {
  if (verdict.allow !== true) {
    const http = verdict.httpStatus!;
    return {
      code:
        typeof verdict.code === 'string' && CODE.test(verdict.code) ? verdict.code : 'AUTHZ_POLICY_DENIED',
      message: typeof verdict.reason === 'string' ? verdict.reason.slice(0, 1024) : 'denied by policy',
      httpStatus: Number.isInteger(http) && http >= 100 && http <= 599 ? http : 403,
      policyHeaders: policyHeaders(verdict, o.tokenHeader),
      body: verdict.body,
      dynamicMetadata: verdict.dynamicMetadata,
    };
  }
  const upstream: Record<string, string> = { 'x-sigil-decision-id': id };
  if (chain) {
    upstream['x-sigil-sub'] = chain.leaf.sub;
    upstream['x-sigil-task-id'] = chain.leaf.task_id;
    upstream['x-sigil-depth'] = String(chain.depth);
  }
  if (tools.length > 0) upstream['x-sigil-tool'] = tools.join(',');
  // The upstream must not see the token (when stripped) nor any client-supplied x-sigil-*. view.headers has
  // a null prototype: for-in sees exactly its own keys, without a key array.
  const remove: string[] = [];
  if (o.stripToken && view.headers[o.tokenHeader] !== undefined) remove.push(o.tokenHeader);
  // The proof goes with the token (docs/proof.md §2): spent already, but the upstream has no use for it.
  if (o.stripToken && view.headers[PROOF_HEADER] !== undefined) remove.push(PROOF_HEADER);
  for (const k in view.headers) if (k.startsWith(SIGIL_HEADER_PREFIX) && !(k in upstream)) remove.push(k);
  // A custom decider's lists are not typed at run time: anything but an array is a policy error.
  const { headersToRemove = NONE, responseHeadersToAdd = NONE, queryParametersToRemove = NONE } = verdict;
  if (
    !Array.isArray(headersToRemove) ||
    !Array.isArray(responseHeadersToAdd) ||
    !Array.isArray(queryParametersToRemove)
  ) {
    throw new AuthzError('AUTHZ_POLICY_ERROR', 'policy returned malformed header lists');
  }
  for (const h of headersToRemove) {
    const key = String(h).toLowerCase();
    if (HEADER_NAME.test(key) && !key.startsWith(SIGIL_HEADER_PREFIX) && !remove.includes(key))
      remove.push(key);
  }
  const downstream: Record<string, string> = { 'x-sigil-decision-id': id };
  const downstreamPolicy: HeaderEntry[] = [];
  for (const h of responseHeadersToAdd) {
    const key = String(h?.key);
    const value = String(h?.value);
    if (allowedHeader(key, value, o.tokenHeader)) downstreamPolicy.push({ key, value });
  }
  return {
    decisionId: id,
    upstream,
    policyHeaders: policyHeaders(verdict, o.tokenHeader),
    remove,
    downstream,
    downstreamPolicy,
    queryToSet: queryToSet(verdict),
    queryToRemove: queryParametersToRemove.map(String),
    dynamicMetadata: verdict.dynamicMetadata,
  };
}
