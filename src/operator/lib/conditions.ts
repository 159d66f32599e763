/**
 * Status conditions in the metav1.Condition shape (KEP-1623): type, status, reason (CamelCase), message,
 * observedGeneration, and a lastTransitionTime that only moves when the status flips.
 */

/** One condition as stored in `.status.conditions`. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

/** `next` merged into `prev` by type, keeping lastTransitionTime where the status did not change. */
export function mergeConditions(
  prev: readonly Condition[] | undefined,
  next: ReadonlyArray<Omit<Condition, 'lastTransitionTime'>>,
  now: Date = new Date(),
): Condition[] {
  const stamp = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const out = (prev ?? []).filter((c) => !next.some((n) => n.type === c.type));
  for (const n of next) {
    const old = prev?.find((c) => c.type === n.type);
    out.push({
      ...n,
      message: n.message.slice(0, 32_000),
      lastTransitionTime: old !== undefined && old.status === n.status ? old.lastTransitionTime : stamp,
    });
  }
  return out.sort((a, b) => a.type.localeCompare(b.type));
}
