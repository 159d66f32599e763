/**
 * Every SigilRevocation → the one revocation list all sidecars poll, in the shape SIGIL's own list has
 * (`{tasks: [{id, …}], jtis: [{id, …}]}`, docs/keys.md §Revocation). Expired entries are left out.
 */
import type { RevocationSpec, SigilObject } from './resources.js';

/** One list entry. */
interface Entry {
  id: string;
  reason: string;
  expires?: string;
  source: string;
}

/** The list's bytes (entries sorted, so the same set gives the same ETag) and the objects it holds. */
export function revocationList(
  objects: readonly SigilObject<RevocationSpec>[],
  now: Date,
): { body: Buffer; listed: Set<string>; nextExpiry: number | undefined } {
  const tasks: Entry[] = [];
  const jtis: Entry[] = [];
  const listed = new Set<string>();
  let nextExpiry: number | undefined;
  for (const o of objects) {
    const s = o.spec;
    const expires = s.expires === undefined ? undefined : Date.parse(s.expires);
    if (expires !== undefined && expires <= now.getTime()) continue;
    if (expires !== undefined) nextExpiry = Math.min(nextExpiry ?? expires, expires);
    const entry: Entry = {
      id: (s.taskId ?? s.jti) as string,
      reason: s.reason,
      ...(s.expires !== undefined ? { expires: s.expires } : {}),
      source: `${o.metadata?.namespace}/${o.metadata?.name}`,
    };
    (s.taskId !== undefined ? tasks : jtis).push(entry);
    listed.add(o.metadata?.uid ?? '');
  }
  const order = (a: Entry, b: Entry) => a.id.localeCompare(b.id) || a.source.localeCompare(b.source);
  const body = Buffer.from(`${JSON.stringify({ tasks: tasks.sort(order), jtis: jtis.sort(order) })}\n`);
  return { body, listed, nextExpiry };
}
