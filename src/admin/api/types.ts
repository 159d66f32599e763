/**
 * JSON shapes of admin API answers that the dashboard (a browser bundle: keep this file free of node:* and
 * server imports) reads as types. Spec: docs/api.md "Admin API".
 */

/** One hop as the token inspector shows it (unverified decode; no signatures, no keys beyond public ones). */
export interface InspectedHop {
  sub: string;
  iss: string;
  aud: string | string[];
  task_id: string;
  tool_scope: string[];
  iat: number;
  nbf: number;
  exp: number;
  jti: string;
  dep: number;
  dmax: number;
  kid: string;
  alg: string;
  /** Whether this hop may delegate further (has a `cnf` key). */
  delegable: boolean;
  /** Human-readable list of what this hop narrowed compared with its parent. */
  narrowed: string[];
}

/** Result of inspecting one presented token. */
export interface TokenInspection {
  /** Decoded hops root first; empty when the token could not be decoded at all. */
  hops: InspectedHop[];
  valid: boolean;
  /** `OK` or the stable TBIT_* code. */
  code: string;
  /** Human-readable reason when invalid. */
  error?: string;
  /** 0-based hop the failure belongs to, when known. */
  hop?: number;
}

/** The loaded policy bundle, as the policy view shows it. */
export interface PolicyInfo {
  /** Bundle revision (manifest revision or content hash); undefined when none is loaded. */
  revision?: string;
  entrypoint: string;
  /** Where the bundle comes from (file path or URL), or `builtin`. */
  source: string;
  /** Epoch ms of the last successful load. */
  loadedAt?: number;
  /** The last load failure (kept while the previous bundle stays in force). */
  lastError?: { code: string; message: string; at: number };
  /** Rego sources when the bundle carries them, path → text. */
  sources?: Record<string, string>;
  /**
   * True when `sources` are the full Rego the bundle was built from (shipped by `sigil policy build`), false
   * when they are what `opa build -t wasm` keeps (stubs: package and imports only).
   */
  sourcesFull?: boolean;
  /** True when no bundle is configured: the built-in policy (the token chain alone decides) is in force. */
  builtin?: boolean;
}

/** `POST /api/policy/reevaluate`'s answer: one recorded decision evaluated again under the bundle in force. */
export interface Reevaluation {
  index: number;
  revision: string;
  /** What was recorded. */
  was: 'allow' | 'deny';
  was_code: string;
  was_revision?: string;
  /** `same`/`changed`: evaluated again exactly; else why it could not be (docs/policy.md §13). */
  outcome: 'same' | 'changed' | 'before_policy' | 'aggregated' | 'not_replayable' | 'unevaluable';
  now?: 'allow' | 'deny';
  now_code?: string;
  reason?: string;
}
