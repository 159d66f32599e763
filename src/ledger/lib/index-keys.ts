/**
 * Secondary index keys of a decision record (docs/ledger.md §Indexes). Each key is an lmdb-js
 * ordered-binary array [kind, value, entryIndex] so one range scan over [kind, value] yields entry
 * indices in log order.
 */
import { createHash } from 'node:crypto';
import type { DecisionRecord } from '../record.js';

/** Index kinds: task, agent (every sub of the chain and the leaf sub), decision, time. */
export const KIND = { task: 'k', agent: 'a', decision: 'd', time: 't' } as const;

/** Longest value stored verbatim in a key; longer values are indexed by their SHA-256 (LMDB key limit). */
const MAX_VALUE = 256;

/** The value as it appears in index keys. */
export function indexValue(v: string): string {
  return v.length <= MAX_VALUE ? v : `sha256:${createHash('sha256').update(v).digest('hex')}`;
}

/** Every index key (without the entry index) a record contributes. */
export function recordIndexKeys(r: DecisionRecord): Array<[string, string | number]> {
  const out: Array<[string, string | number]> = [
    [KIND.decision, r.decision],
    [KIND.time, r.ts],
  ];
  if (r.task_id !== undefined) out.push([KIND.task, indexValue(r.task_id)]);
  const agents = new Set<string>();
  if (r.sub !== undefined) agents.add(r.sub);
  for (const h of r.chain ?? []) agents.add(h.sub);
  for (const a of agents) out.push([KIND.agent, indexValue(a)]);
  return out;
}
