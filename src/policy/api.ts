/**
 * The policy module's public contract (types only). The authz pipeline hands a {@link PolicyContext} to a
 * {@link PolicyDecider} and gets a {@link PolicyVerdict} back. These types are deliberately structural so
 * src/authz can use them without src/policy importing anything from authz (imports run one way).
 */
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
 * What the authz pipeline hands to the policy step: the CheckRequest exactly as @grpc/proto-loader decoded it
 * with `{keepCase: false, longs: String, enums: String, oneofs: true, defaults: false}`, plus the chain summary.
 */
export interface PolicyContext {
  checkRequest: Record<string, unknown>;
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

/** A verified hop as the authz pipeline summarizes it (src/ledger/record.ts RecordedHop). */
export interface HookHop {
  sub: string;
  iss: string;
  jti: string;
  tool_scope: string[];
  exp: number;
}

/**
 * The context src/authz/policy-hook.ts passes to `decide` (structural mirror: src/policy must not import authz).
 * Only the fields SIGIL's policy step reads are listed; extra fields are ignored.
 */
export interface HookContext {
  /** CheckRequest as proto-loader decoded it. */
  request: object;
  /** Verified chain; absent on public routes. */
  chain?: {
    sub: string;
    iss: string;
    task_id: string;
    tool_scope: string[];
    depth: number;
    exp: number;
    hops: HookHop[];
  };
  tools: string[];
  publicRoute: boolean;
  decisionId: string;
  /** Decision time, epoch ms (the pipeline's clock): `time.now_ns()` in the policy. */
  nowMs: number;
}

/**
 * A policy's answer, as the authz pipeline's hook takes it (src/authz/policy-hook.ts re-exports this type as
 * `PolicyVerdict`: authz may import policy, never the reverse, so the one definition lives here).
 */
export interface HookVerdict {
  allow: boolean;
  /** Stable code for a deny (e.g. POLICY_DENIED); default AUTHZ_POLICY_DENIED. */
  code?: string;
  /** Human reason for a deny (goes in the JSON body's `error`). */
  reason?: string;
  /** HTTP status for a deny (default 403; 2xx/1xx are ignored and 403 is used). */
  httpStatus?: number;
  /**
   * Allow: extra headers for the upstream. Deny: extra headers for the client. x-sigil-* are reserved and ignored.
   * Repeated header values are joined with ", " (RFC 9110 §5.3).
   */
  headers?: Record<string, string>;
  /** Deny only: replaces the JSON body entirely. */
  body?: string;
  /** Merged into CheckResponse.dynamic_metadata (decision_id always wins); nested values JSON-encoded. */
  dynamicMetadata?: Record<string, string | number | boolean>;
  /** Bundle revision or content hash that decided (recorded in the ledger as policy_rev). */
  policyRev?: string;
  /** Allow only: request headers removed before the upstream (opa-envoy-plugin `request_headers_to_remove`). */
  headersToRemove?: string[];
  /** Allow only: headers added to the response sent downstream (x-sigil-* are reserved and ignored). */
  responseHeadersToAdd?: HeaderEntry[];
  /** `headers` in order with repeats, as opa-envoy-plugin emits them (the pipeline uses `headers`). */
  headerList?: HeaderEntry[];
}

/** The policy step as src/authz/policy-hook.ts calls it. */
export interface HookDecider {
  /** Never rejects: failures come back as deny verdicts with a POLICY_* code. */
  decide(ctx: HookContext): Promise<HookVerdict>;
  /** Revision of the bundle in force (undefined before the first successful load). */
  readonly revision: string | undefined;
  /** Stops watchers and pollers. */
  close(): Promise<void>;
}
