/**
 * The policy module's public contract (types only), in two layers:
 * - the port the authz pipeline calls: it hands a {@link HookContext} to a {@link HookDecider} and gets a
 *   {@link HookVerdict} back. Defined here once; src/authz imports it (imports run authz → policy, never back);
 * - the OPA engine's own input and answer ({@link PolicyContext}, {@link PolicyVerdict}), which follow
 *   opa-envoy-plugin.
 */
import type { CheckRequest } from '../../gen/envoy/service/auth/v3/external_auth_pb.js';
import type { PolicyErrorCode } from './errors.js';

/** One verified hop as the policy sees it (`input.sigil.hops[i]`), root first. */
export interface PolicyHop {
  sub: string;
  iss: string;
  jti: string;
  tool_scope: string[];
  /** JWT NumericDate seconds. */
  exp: number;
}

/** `input.sigil`: the TBIT verdict and the verified chain (docs/policy.md §3). */
export interface SigilPolicyInput {
  /** True only when the whole chain verified and the tool is in scope. */
  valid: boolean;
  /** `OK`, or the stable TBIT_* / AUTHZ_* code that made it invalid. */
  code: string;
  /** Leaf holder's SPIFFE ID. */
  sub?: string;
  task_id?: string;
  /** Tool the request asks for, when exactly one was found. */
  tool?: string;
  /** Every tool the request asks for (an MCP batch can ask for several). */
  tools?: string[];
  /** Root issuer. */
  iss?: string;
  /** Earliest exp along the chain (NumericDate seconds). */
  exp?: number;
  /** True when the request matched `authz.public_routes` (then `valid` is false and `hops` empty). */
  public_route?: boolean;
  /** Leaf tool scope. */
  tool_scope?: string[];
  depth?: number;
  /** Verified hops, root first; empty when the chain did not verify. */
  hops: PolicyHop[];
}

/**
 * The OPA engine's input: a CheckRequest (the protobuf-es message the pipeline decoded, or its ProtoJSON form
 * as `sigil policy eval` and the admin API read it from a file) plus `input.sigil`.
 */
export interface PolicyContext {
  checkRequest: CheckRequest | Record<string, unknown>;
  sigil: SigilPolicyInput;
}

/** A header as Envoy's HeaderValue (key, value). Order is preserved; repeated keys are allowed. */
export interface HeaderEntry {
  key: string;
  value: string;
}

/**
 * The policy step's answer, already mapped the way opa-envoy-plugin maps a decision onto a CheckResponse
 * (docs/policy.md §5). `allowed: false` always carries a non-OK `code`.
 */
export interface PolicyVerdict {
  allowed: boolean;
  /** `OK` on allow; POLICY_DENIED when the policy said no; another POLICY_* code when it failed (fail closed). */
  code: 'OK' | PolicyErrorCode;
  /** HTTP status for the denied response (403 unless the policy set `http_status`); 200 on allow. */
  httpStatus: number;
  /** Allow: headers added to the upstream request. Deny: headers of the denied response. */
  headers: HeaderEntry[];
  /** Allow only: headers added to the response sent downstream. */
  responseHeadersToAdd: HeaderEntry[];
  /** Allow only: request headers removed before the request goes upstream. */
  requestHeadersToRemove: string[];
  /** Allow only: query parameters removed before the request goes upstream. */
  queryParametersToRemove: string[];
  /** Allow only: query parameters set (added or replaced) before the request goes upstream. */
  queryParametersToSet: HeaderEntry[];
  /** Deny only: body of the denied response. */
  body?: string;
  /** CheckResponse.dynamic_metadata (either decision). */
  dynamicMetadata?: Record<string, unknown>;
  /** Bundle revision that decided: manifest `revision`, else `sha256:<hex>` of the bundle file. */
  revision: string;
  /** Wall time spent in Wasm evaluation, microseconds. */
  evalUs: number;
  /** Human-readable reason for a failure (logs only, never sent to clients). */
  message?: string;
  /** The raw decision document, for `sigil policy eval` and debugging. */
  decision?: unknown;
}

/** What the authz pipeline knows about the verified chain (never the raw token). */
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
  hops: PolicyHop[];
}

/**
 * Input of one decision of the policy step (docs/authz.md §Policy hook). The step is only called for requests the
 * token, chain, binding and tool-scope steps allowed: a policy can narrow, never widen.
 */
export interface HookContext {
  /** The CheckRequest Envoy sent, as decoded (protobuf-es, gen/envoy/service/auth/v3). */
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
  /** Decision time, epoch ms (the pipeline's clock): `time.now_ns()` in the policy. */
  nowMs: number;
}

/** A policy step's answer to {@link HookContext}. */
export interface HookVerdict {
  allow: boolean;
  /** Stable code for a deny (e.g. POLICY_DENIED); default AUTHZ_POLICY_DENIED. */
  code?: string;
  /** Human reason for a deny (goes in the JSON body's `error`). */
  reason?: string;
  /**
   * HTTP status for a deny (default 403). Any integer 100–599 is sent as is, as opa-envoy-plugin sends any status
   * Envoy's StatusCode enum names (a 302 with a Location header is a login redirect); anything else becomes 403.
   */
  httpStatus?: number;
  /**
   * Allow: extra headers for the upstream. Deny: extra headers for the client. x-sigil-* are reserved and ignored.
   * Repeated header values are joined with ", " (RFC 9110 §5.3).
   */
  headers?: Record<string, string>;
  /** Deny only: replaces the JSON body entirely. */
  body?: string;
  /**
   * CheckResponse.dynamic_metadata (a google.protobuf.Struct): JSON values, nested ones included; decision_id
   * (and on a deny, code) always win. Values that are not JSON are left out.
   */
  dynamicMetadata?: Record<string, unknown>;
  /** Bundle revision or content hash that decided (recorded in the ledger as policy_rev). */
  policyRev?: string;
  /** Allow only: request headers removed before the upstream (opa-envoy-plugin `request_headers_to_remove`). */
  headersToRemove?: string[];
  /** Allow only: headers added to the response sent downstream (x-sigil-* are reserved and ignored). */
  responseHeadersToAdd?: HeaderEntry[];
  /**
   * `headers` in order with repeats and names as written, as opa-envoy-plugin emits them; when present the
   * pipeline sends these instead of `headers`.
   */
  headerList?: HeaderEntry[];
  /** Allow only: query parameters to set before the upstream (opa-envoy-plugin `query_parameters_to_set`). */
  queryParametersToSet?: HeaderEntry[];
  /** Allow only: query parameters to remove before the upstream (`query_parameters_to_remove`). */
  queryParametersToRemove?: string[];
}

/**
 * The policy step the authz pipeline calls (the OPA decider here, or a custom one). A throw or a rejected promise
 * becomes a deny with code AUTHZ_POLICY_ERROR (fail closed).
 */
export interface HookDecider {
  decide(ctx: HookContext): Promise<HookVerdict>;
  /** Revision of the bundle in force (undefined before the first successful load), for deciders with bundles. */
  readonly revision?: string | undefined;
  /** Releases resources (bundle watchers and pollers, Wasm instances) on shutdown. */
  close?(): Promise<void>;
}
