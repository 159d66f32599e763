/**
 * Decision records: what the authz pipeline appends to the ledger for every Check.
 * The ledger API itself takes opaque bytes; this is the one canonical encoding for decisions
 * (docs/ledger.md). Never holds secrets: no raw token, only its SHA-256.
 */

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
 * A Check decision as stored in the ledger, or (with `kind`) a count of unauthenticated denies. Fields
 * absent in a record of kind `aggregate`: the identity ones (`sub`, `task_id`, `depth`, `chain`,
 * `token_hash`): none of those denies had a verified token.
 */
export interface DecisionRecord {
  /** Record format version. */
  v: 1;
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

/** The interface an operation came through; `serve` = the sidecar itself (scheduled rotation, first start). */
export type LifecycleVia = 'http' | 'grpc' | 'cli' | 'serve';

/** Fields every lifecycle entry has. */
interface LifecycleBase {
  /** Lifecycle format version. */
  v: 1;
  /** Fresh UUID of the entry. */
  id: string;
  /** When the operation happened, epoch milliseconds. */
  ts: number;
}

/** A root token minted (operator credential or local CLI). Holds the token's SHA-256, never the token. */
export interface TokenMintEntry extends LifecycleBase {
  kind: 'token.mint';
  via: Exclude<LifecycleVia, 'serve'>;
  iss: string;
  sub: string;
  task_id: string;
  tool_scope: string[];
  aud: string[];
  jti: string;
  /** Expiry (NumericDate seconds) and lifetime (seconds). */
  exp: number;
  ttl: number;
  /** Issuer key that signed it (RFC 7638 thumbprint). */
  kid: string;
  /** base64url SHA-256 of the token string. */
  token_hash: string;
}

/** A child token delegated through the issuer endpoint. */
export interface TokenDelegateEntry extends LifecycleBase {
  kind: 'token.delegate';
  via: Exclude<LifecycleVia, 'serve'>;
  /** The new holder, and the parent leaf's holder that delegated. */
  sub: string;
  parent_sub: string;
  task_id: string;
  tool_scope: string[];
  jti: string;
  exp: number;
  /** Depth of the new hop (root = 0). */
  depth: number;
  /** Agent key that signed the new hop. */
  kid: string;
  /** base64url SHA-256 of the parent chain and of the new chain. */
  parent_hash: string;
  token_hash: string;
}

/** A task id or a jti revoked (exactly one of `task_id`, `jti`). */
export interface TokenRevokeEntry extends LifecycleBase {
  kind: 'token.revoke';
  via: Exclude<LifecycleVia, 'serve'>;
  task_id?: string;
  jti?: string;
  /** True when it was already on the list (nothing changed). */
  already: boolean;
}

/** An issuer signing key or a local agent key created, rotated in, or retired (unpublished). */
export interface KeyEntry extends LifecycleBase {
  kind: 'key.create' | 'key.rotate' | 'key.retire';
  via: LifecycleVia;
  key_type: 'issuer' | 'agent';
  /** Key id; for SIGIL's keys the RFC 7638 thumbprint (then equal to `thumbprint`). */
  kid: string;
  thumbprint: string;
  alg: 'EdDSA';
  /** The agent's SPIFFE ID (agent keys only). */
  sub?: string;
  /** `key.rotate`: the signing key it replaced, if there was one. */
  prev_kid?: string;
}

/** A trust bundle (JWKS) or its revocation list changed at its source and was taken into force. */
export interface TrustUpdateEntry extends LifecycleBase {
  kind: 'trust.update';
  /** The bundle's file path or URL. */
  source: string;
  /** Hex SHA-256 of the canonical JSON of what is now in force (keys and revocations). */
  hash: string;
  /** Key ids now trusted from this source, sorted. */
  kids: string[];
  /** Entries of its revocation list (when it has one). */
  revoked?: number;
}

/** A policy bundle activated (first load or hot swap). */
export interface PolicyActivateEntry extends LifecycleBase {
  kind: 'policy.activate';
  source: string;
  revision: string;
  /** Hex SHA-256 of the bundle bytes. */
  bundle_hash: string;
  prev_revision?: string;
}

/** The sidecar started (ready) or stopped. */
export interface SidecarEntry extends LifecycleBase {
  kind: 'sidecar.start' | 'sidecar.stop';
  /** SIGIL version (package.json). */
  version: string;
  /** Hex SHA-256 of the canonical JSON of the validated config with secrets removed. */
  config_hash: string;
}

/** A lifecycle entry (discriminated by `kind`). */
export type LifecycleRecord =
  | TokenMintEntry
  | TokenDelegateEntry
  | TokenRevokeEntry
  | KeyEntry
  | TrustUpdateEntry
  | PolicyActivateEntry
  | SidecarEntry;

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
