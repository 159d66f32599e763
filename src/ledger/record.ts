/**
 * The ledger's records: decision records (what the authz pipeline appends for every Check) and lifecycle entries
 * (token, key, trust, policy and sidecar events; docs/ledger.md §4). The ledger API itself takes opaque bytes; these
 * are its canonical record encodings. Never hold secrets: no raw token, only its SHA-256.
 */

import type { LifecycleEvent } from '../lib/lifecycle-event.js';

/** One hop of the verified chain, as recorded (no signatures, no keys). */
export interface RecordedHop {
  sub: string;
  iss: string;
  jti: string;
  tool_scope: string[];
  exp: number;
}

/**
 * What an entry stands for (docs/ledger.md §4 "Entry kinds"): absent = one decision; `aggregate` = the
 * unauthenticated denies of one (source, code) in one window; `dropped` = unauthenticated denies of one code
 * that were not recorded while the disk guard held free space back for authenticated decisions.
 */
export type RecordKind = 'aggregate' | 'dropped';

/**
 * What a token that did NOT verify claimed to be (docs/ledger.md §4 "Claimed identities", issue #24): read
 * without trusting it, kept apart from the verified identity fields, and marked `verified: false`. Each
 * field only when well-formed; at least one is present.
 */
export interface ClaimedIdentityRecord {
  /** Always false: nothing here was verified. */
  verified: false;
  /** Claimed leaf `sub` (a SPIFFE ID, ≤ 512 characters). */
  sub?: string;
  /** Claimed `task_id` (1..128 visible ASCII characters). */
  task_id?: string;
  /** Claimed leaf header `kid` (1..128 visible ASCII characters). */
  kid?: string;
  /** Claimed leaf `iss` (a SPIFFE ID, ≤ 512 characters). */
  iss?: string;
}

/** One distinct claimed identity of an `aggregate` window and how many of its denies claimed it. */
export interface ClaimedTally extends ClaimedIdentityRecord {
  /** Denies of the window that claimed exactly this identity (≥ 1). */
  count: number;
}

/** Distinct claimed identities an aggregate keeps per window; the rest are counted in `claimed_other`. */
export const MAX_CLAIMED_PER_AGGREGATE = 8;

/**
 * Record format version: 1, or 2 for a record carrying `claimed` (2 = 1 plus the optional claimed fields;
 * a version-1 reader refuses it as a whole instead of misreading it).
 */
export type RecordVersion = 1 | 2;

/**
 * A Check decision as stored in the ledger, or (with `kind`) a count of unauthenticated denies. Fields
 * absent in a record of kind `aggregate`: the identity ones (`sub`, `task_id`, `depth`, `chain`,
 * `token_hash`): none of those denies had a verified token.
 */
export interface DecisionRecord {
  /** Record format version ({@link RecordVersion}): 2 exactly when `claimed` is present. */
  v: RecordVersion;
  /** Decision id (also sent to Envoy and the upstream). */
  id: string;
  /** Decision time, epoch milliseconds. */
  ts: number;
  decision: 'allow' | 'deny';
  /** `OK` for allows, else the stable error code (TBIT_*, AUTHZ_*, POLICY_*). */
  code: string;
  /** HTTP status Envoy returned to the caller (200 for allow). */
  http_status: number;
  /** Leaf holder's SPIFFE ID (when the token parsed). */
  sub?: string;
  task_id?: string;
  /** Tool the request asked for, when one was found. */
  tool?: string;
  depth?: number;
  /** Verified hops, root first (only when the chain verified). */
  chain?: RecordedHop[];
  method?: string;
  host?: string;
  path?: string;
  /** mTLS peer principal Envoy reported, if any. */
  peer?: string;
  /** base64url SHA-256 of the presented token string. */
  token_hash?: string;
  /** Policy bundle revision (or content hash) that decided. */
  policy_rev?: string;
  /**
   * Proof of possession (docs/proof.md §8): `verified` = a Workload Proof Token was presented and verified,
   * `absent` = none presented and the mode allowed that, `rejected` = presented and refused (the code says why).
   * Absent on public routes, with `authz.proof: off`, and in records older than the field.
   */
  pop?: 'verified' | 'absent' | 'rejected';
  /** Absent: one decision. Else an entry counting unauthenticated denies ({@link RecordKind}). */
  kind?: RecordKind;
  /** `aggregate`/`dropped`: how many denies the entry stands for (≥ 1). `ts` is the first one's time. */
  count?: number;
  /** `aggregate`/`dropped`: time of the last deny counted (epoch ms, ≥ `ts`). */
  last_ts?: number;
  /** `aggregate`: the aggregation window, ms. */
  window_ms?: number;
  /** `aggregate`: the requests' source address (Envoy's `attributes.source`), `*` for the overflow. */
  source?: string;
  /**
   * UNVERIFIED. A single deny decided before a token verified: what its token claimed (an object). An
   * `aggregate`: up to {@link MAX_CLAIMED_PER_AGGREGATE} distinct claimed identities with counts (an array).
   */
  claimed?: ClaimedIdentityRecord | ClaimedTally[];
  /** `aggregate` with a full `claimed` list: denies whose claimed identity was not among those kept (≥ 1). */
  claimed_other?: number;
}

/** Filters of {@link MerkleLog.query}; all given filters must match. */
export interface AuditQuery {
  task?: string;
  /** SPIFFE ID: matches the leaf `sub` or any `sub` in the recorded chain. */
  agent?: string;
  decision?: 'allow' | 'deny';
  /** Inclusive lower bound on `ts` (epoch ms). */
  since?: number;
  /** Inclusive upper bound on `ts` (epoch ms). */
  until?: number;
  /** Maximum results (default 100, at most 10 000). */
  limit?: number;
  /** `asc` (oldest first, default) or `desc` (newest first). */
  order?: 'asc' | 'desc';
}

/** One query result. */
export interface AuditHit {
  index: number;
  record: DecisionRecord;
}

/**
 * Lifecycle entry kinds (docs/ledger.md §4 "Lifecycle entries"): every token and key operation, trust and
 * policy change, and sidecar start/stop, in the same log as the decisions they enabled.
 */
export const LIFECYCLE_KINDS = [
  'token.mint',
  'token.delegate',
  'token.revoke',
  'key.create',
  'key.rotate',
  'key.retire',
  'trust.update',
  'policy.activate',
  'sidecar.start',
  'sidecar.stop',
] as const;

/** One of {@link LIFECYCLE_KINDS}. */
export type LifecycleKind = (typeof LIFECYCLE_KINDS)[number];

export type {
  KeyEntry,
  LifecycleEvent,
  LifecycleVia,
  PolicyActivateEntry,
  SidecarEntry,
  TokenDelegateEntry,
  TokenMintEntry,
  TokenRevokeEntry,
  TrustUpdateEntry,
} from '../lib/lifecycle-event.js';

/** Fields every lifecycle entry has besides its event's. */
interface LifecycleBase {
  /** Lifecycle format version. */
  v: 1;
  /** Fresh UUID of the entry. */
  id: string;
  /** When the operation happened, epoch milliseconds. */
  ts: number;
}

/** A lifecycle entry: an event (discriminated by `kind`) stamped with version, id and time. */
export type LifecycleRecord = LifecycleEvent & LifecycleBase;

/** Any record the ledger stores: a decision (or counted denies) or a lifecycle entry. */
export type LedgerRecord = DecisionRecord | LifecycleRecord;

/** Filters of {@link MerkleLog.queryEntries}: those of {@link AuditQuery}, plus the entry kind. */
export interface EntryQuery extends AuditQuery {
  /** `decision` (records without kind), `aggregate`, `dropped`, or a {@link LifecycleKind}. */
  kind?: string;
}

/** One {@link MerkleLog.queryEntries} result. */
export interface EntryHit {
  index: number;
  record: LedgerRecord;
}
