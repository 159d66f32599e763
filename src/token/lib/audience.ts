/**
 * Audience coverage (docs/tbit.md §4.3). An `aud` entry covers a SPIFFE ID when equal to it, or when the
 * entry is a trust-domain ID (`spiffe://td`, empty path) and the ID is in that trust domain.
 */
import { parseSpiffeId } from '../spiffe-id.js';

/** The aud claim as a list. */
export function audList(aud: string | readonly string[]): readonly string[] {
  return typeof aud === 'string' ? [aud] : aud;
}

/** True when the single entry `entry` covers the SPIFFE ID `id`. Both must already be valid IDs. */
export function entryCovers(entry: string, id: string): boolean {
  if (entry === id) return true;
  // A trust-domain ID has no '/' after the scheme; compare the id's trust domain exactly.
  const e = parseSpiffeId(entry);
  if (e.path !== '') return false;
  return parseSpiffeId(id).trustDomain === e.trustDomain;
}

/** True when some entry of `aud` covers `id`. */
export function audCovers(aud: string | readonly string[], id: string): boolean {
  for (const entry of audList(aud)) if (entryCovers(entry, id)) return true;
  return false;
}

/** First child entry that no parent entry covers, or undefined when the child narrows (or keeps) the audience. */
export function audWidening(
  parent: string | readonly string[],
  child: string | readonly string[],
): string | undefined {
  for (const c of audList(child)) if (!audCovers(parent, c)) return c;
  return undefined;
}
