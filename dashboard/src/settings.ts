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

/** How times are shown: in UTC (default) or the browser's local zone; always labelled with the zone. */
export type TimeZoneMode = 'utc' | 'local';
const TZ_KEY = 'sigil.timeZone';
/** Fired on `window` when the time zone mode changes. */
export const TZ_EVENT = 'sigil-timezone';

/** The chosen time zone mode. */
export function timeZoneMode(): TimeZoneMode {
  return localStorage.getItem(TZ_KEY) === 'local' ? 'local' : 'utc';
}

/** Switches the time zone mode (and tells every view that shows times). */
export function setTimeZoneMode(mode: TimeZoneMode): void {
  localStorage.setItem(TZ_KEY, mode);
  window.dispatchEvent(new Event(TZ_EVENT));
}
