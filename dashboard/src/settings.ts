/** The operator's pinned checkpoint verifier key, kept in localStorage (it is public; pinning it is the point). */
const KEY = 'sigil.verifierKey';

/** The pinned verifier key, if any. */
export function pinnedVerifierKey(): string | undefined {
  return localStorage.getItem(KEY) ?? undefined;
}

/** Pins (or with an empty string, unpins) the verifier key. */
export function pinVerifierKey(key: string): void {
  if (key.trim() === '') localStorage.removeItem(KEY);
  else localStorage.setItem(KEY, key.trim());
}
