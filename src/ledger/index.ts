/**
 * The audit ledger: RFC 6962 Merkle log in LMDB, proofs, C2SP signed checkpoints, compliance queries.
 * Browser-safe functions are also available alone from `./browser.js`. Spec: docs/ledger.md.
 */
export * from './browser.js';
export {
  type AppendEvent,
  type AppendedDecision,
  type CompactReport,
  type Histogram,
  type HistogramBucket,
  type HistogramQuery,
  MerkleLog,
  type MerkleLogOptions,
  type MigrationEvent,
  type SignedCheckpoint,
} from './merkle-log.js';
export { type NoteSigner, noteSigner, signNote } from './sign-note.js';
export { type VerifyOptions, type VerifyProblem, type VerifyReport, verifyLog } from './verify-log.js';
