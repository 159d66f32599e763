/** Small shared pieces: state boxes that say what to do, time formatting, labels for SPIFFE IDs. */
import { type ReactNode, useEffect, useState } from 'react';
import { ApiError } from './api.js';
import { setTimeZoneMode, TZ_EVENT, type TimeZoneMode, timeZoneMode } from './settings.js';

/** Loading placeholder. */
export function Loading({ what }: { what: string }) {
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      Loading {what}…
    </div>
  );
}

/** Error box: the stable code, the message and what to try next. */
export function ErrorBox({ error, retry }: { error: unknown; retry?: () => void }) {
  const code = error instanceof ApiError ? error.code : 'ERROR';
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div className="state state-error" role="alert">
      <strong className="code">{code}</strong> {message}
      <p className="hint">{hintFor(code)}</p>
      {retry && (
        <button type="button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

/** Empty state with guidance. */
export function Empty({ children }: { children: ReactNode }) {
  return <div className="state state-empty">{children}</div>;
}

function hintFor(code: string): string {
  switch (code) {
    case 'ADMIN_UNAUTHORIZED':
    case 'ADMIN_BEARER_REQUIRED':
      return 'Enter the admin token (sigil.admin.token, or the one `sigil serve` printed at start) under Settings.';
    case 'MESH_NOT_CONFIGURED':
      return 'Set the mesh collector URL and witness policy under Settings.';
    case 'MESH_UNREACHABLE':
      return 'Is the collector running, and is its origin listed in sigil.admin.connect_src (the CSP)?';
    case 'ADMIN_UNAVAILABLE':
      return 'That part of SIGIL is not running in this process; check the `sigil serve` logs.';
    case 'NETWORK':
      return 'Is `sigil serve` still running? The dashboard reconnects when it is back.';
    default:
      return 'Check the `sigil serve` logs for details.';
  }
}

/** The zone label of `ms` in `mode`: `UTC`, or the local offset as `UTC+01:00` (offsets change with DST). */
export function zoneLabel(ms: number, mode: TimeZoneMode = timeZoneMode()): string {
  if (mode === 'utc') return 'UTC';
  const off = -new Date(ms).getTimezoneOffset();
  const p = (n: number) => String(Math.floor(Math.abs(n))).padStart(2, '0');
  return `UTC${off < 0 ? '-' : '+'}${p(off / 60)}:${p(off % 60)}`;
}

/** `YYYY-MM-DD HH:MM:SS` of `ms` in the zone of `mode` (no label). */
function wallClock(ms: number, mode: TimeZoneMode): string {
  const d = new Date(ms);
  const u = mode === 'utc';
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const [y, mo, da, h, mi, s] = u
    ? [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]
    : [d.getFullYear(), d.getMonth(), d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()];
  return `${y}-${p(mo + 1)}-${p(da)} ${p(h)}:${p(mi)}:${p(s)}`;
}

/** Date and time with seconds and its zone (`2026-11-27 09:00:00 UTC`), in the chosen zone mode. */
export function fmtTime(ms: number, mode: TimeZoneMode = timeZoneMode()): string {
  return `${wallClock(ms, mode)} ${zoneLabel(ms, mode)}`;
}

/** Time of day (with zone) for today's entries, the full date-time otherwise (lists stay one line on a laptop). */
export function fmtShort(ms: number, nowMs = Date.now(), mode: TimeZoneMode = timeZoneMode()): string {
  const full = wallClock(ms, mode);
  const day = full.slice(0, 10) === wallClock(nowMs, mode).slice(0, 10);
  return `${day ? full.slice(11) : full} ${zoneLabel(ms, mode)}`;
}

/** `<input type="datetime-local">` value of `ms` in the zone mode. */
export function toInputTime(ms: number, mode: TimeZoneMode = timeZoneMode()): string {
  return wallClock(ms, mode).replace(' ', 'T').slice(0, 16);
}

/** Epoch ms of a `datetime-local` value read in the zone mode; undefined when empty or invalid. */
export function fromInputTime(v: string, mode: TimeZoneMode = timeZoneMode()): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(v)) return undefined;
  const ms = mode === 'utc' ? Date.parse(`${v}Z`) : new Date(v).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

/** The zone mode, re-rendering when it changes anywhere. */
export function useTimeZone(): [TimeZoneMode, (m: TimeZoneMode) => void] {
  const [mode, setMode] = useState(timeZoneMode);
  useEffect(() => {
    const on = () => setMode(timeZoneMode());
    window.addEventListener(TZ_EVENT, on);
    return () => window.removeEventListener(TZ_EVENT, on);
  }, []);
  return [mode, setTimeZoneMode];
}

/** The UTC / local switch (a radio group), shown wherever times are. */
export function TimeZoneSwitch() {
  const [mode, set] = useTimeZone();
  return (
    <fieldset className="tz-switch" data-testid="tz-switch">
      <legend>Times in</legend>
      {(['utc', 'local'] as const).map((m) => (
        <label key={m}>
          <input type="radio" name="tz" value={m} checked={mode === m} onChange={() => set(m)} />
          {m === 'utc' ? 'UTC' : `local (${zoneLabel(Date.now(), 'local')})`}
        </label>
      ))}
    </fieldset>
  );
}

/** JWT NumericDate seconds → time plus "in 4m" / "3m ago" relative to now. */
export function fmtNumericDate(s: number, nowMs = Date.now()): string {
  const d = s * 1000 - nowMs;
  const abs = Math.abs(d) / 1000;
  const rel = abs < 90 ? `${Math.round(abs)}s` : abs < 5400 ? `${Math.round(abs / 60)}m` : `${Math.round(abs / 3600)}h`;
  return `${fmtTime(s * 1000)} (${d >= 0 ? `in ${rel}` : `${rel} ago`})`;
}

/** Short label for a SPIFFE ID: the path after the trust domain (`agent/planner/1`). */
export function shortId(id: string): string {
  const m = /^spiffe:\/\/[^/]+\/(.+)$/.exec(id);
  return m?.[1] ?? id;
}
