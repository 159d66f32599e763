/**
 * What the admin API needs from the rest of SIGIL, as narrow structural ports. `sigil serve` (src/serve) passes
 * the real ledger, token verifier and policy engine through these; nothing here is ever a stub in production.
 * Keeping them narrow is what guarantees the API cannot leak keys: it has no handle on them.
 */

import type { AuditHit, AuditQuery } from '../../ledger/browser.js';
import type { Clock } from '../../lib/clock.js';

/** One decision as stored, with its ledger index. */
export type DecisionEntry = AuditHit;

/** Filter of a decision query: the ledger's filters (times epoch ms, inclusive), plus paging. */
export type DecisionFilter = Pick<AuditQuery, 'task' | 'agent' | 'decision' | 'since' | 'until'> & {
  /** Only entries with index < before (paging backwards). */
  before?: number;
  limit: number;
};

/** A signed checkpoint (C2SP tlog-checkpoint wrapped in a C2SP signed-note). */
export interface CheckpointNote {
  /** Tree size it commits to. */
  size: number;
  /** The full signed note text, byte for byte as signed. */
  note: string;
}

/** The audit log as the admin API reads it. */
export interface AdminLedger {
  /** Current number of entries. */
  size(): number;
  /** Newest-first decisions matching the filter. */
  query(filter: DecisionFilter): Promise<DecisionEntry[]>;
  /** The raw entry bytes at `index` (what the leaf hash covers), or undefined past the end. */
  entry(index: number): Promise<Uint8Array | undefined>;
  /** RFC 9162 §2.1.3.1 inclusion proof of `index` in the tree of `size` entries. */
  inclusionProof(index: number, size: number): Promise<Uint8Array[]>;
  /** The newest signed checkpoint; when `minSize` is given and the newest is smaller, a fresh one is made. */
  checkpoint(minSize?: number): Promise<CheckpointNote>;
  /** The checkpoint verifier key string `<name>+<hex keyid>+<base64(0x01 ‖ pubkey)>`. */
  verifierKey(): string;
  /**
   * Calls `listener` for decisions appended from now on; returns the unsubscribe function. Implementations may cap
   * how many records they decode per second (decoding runs on the Check path's event loop); entries not delivered
   * are reported to `onSkip` with the log size after them.
   */
  onAppend(
    listener: (entry: DecisionEntry) => void,
    onSkip?: (count: number, size: number) => void,
  ): () => void;
}

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

/** The token verifier as the inspector uses it (trust store and limits bound in by serve). */
export interface AdminTokens {
  /** Decodes and verifies; never throws for a bad token (the failure is in the result). */
  inspect(token: string): TokenInspection;
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
}

/** The policy engine as the admin API uses it. */
export interface AdminPolicy {
  info(): PolicyInfo;
  /** Evaluates `input` through the same path as Check; resolves with a JSON-safe result, never throws for a deny. */
  evaluate(input: Record<string, unknown>): Promise<unknown>;
  /** Validates and swaps in a bundle exactly as hot reload does; rejects with a SigilError (POLICY_*) when refused. */
  upload(bundle: Uint8Array): Promise<PolicyInfo>;
}

/** Everything {@link createAdminApi} needs. Parts may be absent while a component is not wired: their endpoints answer ADMIN_UNAVAILABLE. */
export interface AdminApiDeps {
  /** The admin credential (`sigil.admin.token`), at least 16 characters. */
  adminToken: string;
  ledger?: AdminLedger;
  tokens?: AdminTokens;
  policy?: AdminPolicy;
  /** Built dashboard directory; default: dist/dashboard found next to this module. `null` disables static serving. */
  dashboardDir?: string | null;
  clock?: Clock;
  /** Session cookie lifetime, ms (default 12 h). */
  sessionTtlMs?: number;
  /** Largest number of concurrent event streams (default 32). */
  maxStreams?: number;
  /** SSE keep-alive comment interval, ms (default 15 s). */
  heartbeatMs?: number;
}
