/**
 * Browser-safe part of the ledger API (no node:* or lmdb imports): hashing, proof verification,
 * signed-note / checkpoint / tlog-proof verification and the decision record codec. The dashboard
 * bundles this module.
 */
export { decodeEntry } from './decode-entry.js';
export { decodeRecord } from './decode-record.js';
export { encodeEntry } from './encode-entry.js';
export { encodeRecord } from './encode-record.js';
export { LedgerError, type LedgerErrorCode } from './errors.js';
export { leafHash } from './leaf-hash.js';
export { b64decode, b64encode, hex } from './lib/b64.js';
export { EMPTY_ROOT } from './lib/hash.js';
export {
  formatVerifierKey,
  isKeyName,
  type NoteVerifier,
  noteKeyId,
  parseVerifierKey,
} from './lib/note-key.js';
export { type Checkpoint, formatCheckpoint, openCheckpoint, parseCheckpoint } from './parse-checkpoint.js';
export {
  type AuditHit,
  type AuditQuery,
  type ClaimedIdentityRecord,
  type ClaimedTally,
  type DecisionRecord,
  type EntryHit,
  type EntryQuery,
  type KeyEntry,
  type LedgerRecord,
  LIFECYCLE_KINDS,
  type LifecycleKind,
  type LifecycleRecord,
  type LifecycleVia,
  MAX_CLAIMED_PER_AGGREGATE,
  type PolicyActivateEntry,
  type RecordedHop,
  type RecordKind,
  type RecordVersion,
  type SidecarEntry,
  type TokenDelegateEntry,
  type TokenMintEntry,
  type TokenRevokeEntry,
  type TrustUpdateEntry,
} from './record.js';
export { rootFromLeafHashes, rootOf } from './root-of.js';
export { verifyConsistency } from './verify-consistency.js';
export { verifyInclusion } from './verify-inclusion.js';
export { type VerifiedNote, verifyNote } from './verify-note.js';
export {
  type ProofBundle,
  parseProofBundle,
  type VerifiedBundle,
  verifyProofBundle,
} from './verify-proof-bundle.js';
