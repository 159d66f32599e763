/**
 * What a module reports when it changes authority (issue #20): a token minted, delegated or revoked, a key
 * created, rotated or retired, trust or policy changed, the sidecar started or stopped. Modules hand these to an
 * `onLifecycle` callback; `src/serve` stamps them (`v`, `id`, `ts`) into ledger entries (docs/ledger.md §4
 * "Lifecycle entries", the contract of every field). Plain data: hashes and ids only, never a token or a key.
 */

/** The interface an operation came through; `serve` = the sidecar itself (scheduled rotation, first start). */
export type LifecycleVia = 'http' | 'grpc' | 'cli' | 'serve';

/** A root token minted (operator credential or local CLI). Holds the token's SHA-256, never the token. */
export interface TokenMintEntry {
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
export interface TokenDelegateEntry {
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
export interface TokenRevokeEntry {
  kind: 'token.revoke';
  via: Exclude<LifecycleVia, 'serve'>;
  task_id?: string;
  jti?: string;
  /** True when it was already on the list (nothing changed). */
  already: boolean;
}

/** An issuer signing key or a local agent key created, rotated in, or retired (unpublished). */
export interface KeyEntry {
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
export interface TrustUpdateEntry {
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
export interface PolicyActivateEntry {
  kind: 'policy.activate';
  source: string;
  revision: string;
  /** Hex SHA-256 of the bundle bytes. */
  bundle_hash: string;
  prev_revision?: string;
}

/** The sidecar started (ready) or stopped. */
export interface SidecarEntry {
  kind: 'sidecar.start' | 'sidecar.stop';
  /** SIGIL version (package.json). */
  version: string;
  /** Hex SHA-256 of the canonical JSON of the validated config with secrets removed. */
  config_hash: string;
}

/** Any lifecycle event (discriminated by `kind`). */
export type LifecycleEvent =
  | TokenMintEntry
  | TokenDelegateEntry
  | TokenRevokeEntry
  | KeyEntry
  | TrustUpdateEntry
  | PolicyActivateEntry
  | SidecarEntry;

/** The callback modules report lifecycle events through; it must not throw (errors are the receiver's). */
export type OnLifecycle = (event: LifecycleEvent) => void;

/**
 * Canonical JSON (docs/ledger.md §4): keys sorted by UTF-16 code units at every level, no whitespace, strings
 * as JSON.stringify writes them; `undefined` members are omitted. For hashing documents and lifecycle entries.
 */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : canonicalJson(x))).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}
