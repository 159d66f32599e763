/** Small shared pieces: state boxes that say what to do, time formatting, labels for SPIFFE IDs. */
import type { ReactNode } from 'react';
import { ApiError } from './api.js';

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
    case 'ADMIN_UNAVAILABLE':
      return 'That part of SIGIL is not running in this process; check the `sigil serve` logs.';
    case 'NETWORK':
      return 'Is `sigil serve` still running? The dashboard reconnects when it is back.';
    default:
      return 'Check the `sigil serve` logs for details.';
  }
}

/** ISO-like local time with seconds. */
export function fmtTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Time of day for today's entries, the full date-time otherwise (lists stay one line on a laptop). */
export function fmtShort(ms: number, nowMs = Date.now()): string {
  const full = fmtTime(ms);
  return full.slice(0, 10) === fmtTime(nowMs).slice(0, 10) ? full.slice(11) : full;
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
