/**
 * Adapts the audit ledger (MerkleLog.appendDecision, group-committed) to the authz DecisionSink and
 * formats the receipt the caller gets in `x-sigil-receipt` (docs/authz.md §Receipt).
 */
import type { DecisionSink } from '../authz/index.js';
import type { MerkleLog } from '../ledger/index.js';

/**
 * Receipt: `index=<leaf index>; leaf=<base64url RFC 6962 leaf hash>; origin=<checkpoint origin>`.
 * Any signed checkpoint of that origin with size > index proves inclusion (`sigil audit prove <index>`,
 * or the admin API's proof endpoint).
 */
export function ledgerSink(log: MerkleLog, origin: string): DecisionSink {
  return {
    async append(record) {
      const { index, leafHash } = await log.appendDecision(record);
      return {
        index,
        receipt: `index=${index}; leaf=${Buffer.from(leafHash).toString('base64url')}; origin=${origin}`,
      };
    },
  };
}
