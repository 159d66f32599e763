/**
 * An in-memory DecisionSink for pipeline unit tests that are about the decision, not about storage.
 * The ledger's own tests and test/e2e use the real LMDB ledger.
 */
import type { DecisionSink } from '../../src/authz/check.js';
import type { DecisionRecord } from '../../src/ledger/record.js';

/** A sink that keeps records in order; receipts are `index=<n>`. */
export function memorySink(): DecisionSink & { records: DecisionRecord[] } {
  const records: DecisionRecord[] = [];
  return {
    records,
    append: async (r) => {
      records.push(structuredClone(r));
      return { index: records.length - 1, receipt: `index=${records.length - 1}` };
    },
  };
}
