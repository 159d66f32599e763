/**
 * Wire types of the admin API. The record shape is the ledger's contract (src/ledger/record.ts) imported as a
 * type only, so nothing node-specific reaches the bundle.
 */
export { type DecisionRecord, LIFECYCLE_KINDS, type RecordedHop } from '../../src/ledger/record.js';
export type { GraphData, GraphEdge, GraphNode } from '../../src/admin/api/lib/graph.js';
export type { InspectedHop, PolicyInfo, Reevaluation, TokenInspection } from '../../src/admin/api/types.js';

/** GET /api/decisions answer. */
export interface DecisionPage {
  items: { index: number; record: import('../../src/ledger/record.js').DecisionRecord }[];
  next_before: number | null;
  size: number;
}

/** GET /api/proof/:index answer. */
export interface ProofBundle {
  index: number;
  size: number;
  /** base64 of the raw entry bytes the leaf hash covers. */
  entry: string;
  /** base64 RFC 9162 inclusion path, leaf side first. */
  proof: string[];
  /** C2SP signed note of the checkpoint the proof is against. */
  checkpoint: string;
}

/** GET /api/status answer. */
export interface Status {
  now: number;
  ledger: { size: number } | null;
  policy: { revision: string | null } | null;
  tokens: boolean;
  streams: number;
}
