/**
 * Adapts the audit ledger (MerkleLog.appendDecision, group-committed) to the authz DecisionSink and
 * formats the receipt the caller gets in `x-sigil-receipt` (docs/authz.md §Receipt).
 */
import type { DecisionSink } from '../authz/index.js';
import type { MerkleLog } from '../ledger/index.js';
import { b64urlEncode } from '../lib/bytes.js';
import type { UnauthenticatedDenies } from './unauthenticated-denies.js';

/**
 * Receipt: `index=<leaf index>; leaf=<base64url RFC 6962 leaf hash>; origin=<checkpoint origin>`.
 * Any signed checkpoint of that origin with size > index proves inclusion (`sigil audit prove <index>`,
 * or the admin API's proof endpoint).
 *
 * With `unauthenticated`, a deny whose caller has no verified token is handed to it instead (aggregated per
 * source and code, docs/ledger.md §4): answered at once, without waiting for a commit, and without a
 * receipt. Allows, and every decision of a verified caller, are one durable entry each.
 */
export function ledgerSink(
  log: MerkleLog,
  origin: string,
  unauthenticated?: UnauthenticatedDenies,
): DecisionSink {
  return {
    async append(record, from) {
      if (unauthenticated && isAggregated(record.decision, from?.verified)) {
        unauthenticated.add(record, from.source);
        return undefined;
      }
      const { index, leafHash } = await log.appendDecision(record);
      return { index, receipt: receiptText(index, leafHash, origin) };
    },
  };
}

/**
 * The one rule for what `sigil.audit.unauthenticated` aggregates instead of appending: a deny of a caller with no
 * verified token. Shared by this sink and the Check workers' record intake so both paths stay the same.
 */
export const isAggregated = (decision: string, verified: boolean | undefined): boolean =>
  decision === 'deny' && verified === false;

/** The receipt text above, for entry `index` with RFC 6962 leaf hash `leafHash` (also a Check worker's). */
export const receiptText = (index: number, leafHash: Uint8Array, origin: string): string =>
  `index=${index}; leaf=${b64urlEncode(leafHash)}; origin=${origin}`;
