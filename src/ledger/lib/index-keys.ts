/**
 * Secondary indexes of decision records (docs/ledger.md §Secondary indexes). A commit writes one
 * posting per (kind, value) it touches: key = lmdb-js ordered-binary array [kind, value, firstIndex],
 * value = the entry indices of that batch with this (kind, value), ascending, as uint32 little-endian.
 * A range scan over [kind, value] therefore yields entry indices in log order, and a batch of B
 * decisions of one agent and task costs a handful of index writes instead of ~5·B.
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

/** Resolution of the time index: records are grouped by the second of their `ts`. */
export const TIME_BUCKET_MS = 1000;

/** The time-index value of epoch-ms `ts`. */
export function timeBucket(ts: number): number {
  return Math.floor(ts / TIME_BUCKET_MS);
}

/** Every index (kind, value) a record contributes. */
export function recordIndexKeys(r: DecisionRecord): Array<[string, string | number]> {
  const out: Array<[string, string | number]> = [
    [KIND.decision, r.decision],
    [KIND.time, timeBucket(r.ts)],
  ];
  if (r.task_id !== undefined) out.push([KIND.task, indexValue(r.task_id)]);
  const agents = new Set<string>();
  if (r.sub !== undefined) agents.add(r.sub);
  for (const h of r.chain ?? []) agents.add(h.sub);
  for (const a of agents) out.push([KIND.agent, indexValue(a)]);
  return out;
}

/** Entry indices of one posting, ascending, as uint32 little-endian. */
export function packPosting(indices: number[]): Buffer {
  const b = Buffer.allocUnsafe(indices.length * 4);
  for (let i = 0; i < indices.length; i++) b.writeUInt32LE(indices[i] as number, i * 4);
  return b;
}

/** Inverse of {@link packPosting}; undefined if `b` is not a whole number of uint32s or not ascending. */
export function unpackPosting(b: Uint8Array): number[] | undefined {
  if (b.length === 0 || b.length % 4 !== 0) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: number[] = new Array(b.length / 4);
  let prev = -1;
  for (let i = 0; i < out.length; i++) {
    const x = v.getUint32(i * 4, true);
    if (x <= prev) return undefined;
    out[i] = prev = x;
  }
  return out;
}
