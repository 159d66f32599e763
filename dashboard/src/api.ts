/**
 * Client of the admin API (docs/api.md, "Admin API"). The admin credential lives in sessionStorage only (gone when
 * the tab closes) and travels as `Authorization: Bearer`. `POST /api/session` additionally sets an HttpOnly,
 * SameSite=Strict cookie that the server accepts on GET only, because EventSource cannot send headers.
 */
import type { DecisionRecord } from './types.js';

const TOKEN_KEY = 'sigil.adminToken';

/** A failed API call with the server's stable code. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Takes `#token=…` from the URL (what `sigil serve` prints) into sessionStorage and removes it from the address bar. */
export function adoptTokenFromHash(): boolean {
  const m = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
  if (!m?.[1]) return false;
  sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
  history.replaceState(null, '', window.location.pathname + window.location.search);
  return true;
}

/** The stored admin credential, if any. */
export function adminToken(): string | undefined {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

/** Calls the API; throws {@link ApiError} with the server's code on failure. */
export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  const token = adminToken();
  if (token) headers.set('authorization', `Bearer ${token}`);
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers, credentials: 'same-origin', cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'NETWORK', `cannot reach the SIGIL admin server (${(e as Error).message})`);
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    throw new ApiError(res.status, 'BAD_RESPONSE', `unexpected answer from the server (HTTP ${res.status})`);
  }
  if (!res.ok) {
    const b = (body ?? {}) as { code?: unknown; error?: unknown };
    throw new ApiError(
      res.status,
      typeof b.code === 'string' ? b.code : `HTTP_${res.status}`,
      typeof b.error === 'string' ? b.error : `HTTP ${res.status}`,
    );
  }
  return body as T;
}

/** POSTs JSON. */
export function postJson<T>(path: string, body: unknown): Promise<T> {
  return api<T>(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** Stores the credential after the server accepted it (and set the event-stream cookie). */
export async function login(token: string): Promise<void> {
  const res = await fetch('/api/session', {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    credentials: 'same-origin',
  });
  if (res.status !== 204) {
    let code = `HTTP_${res.status}`;
    try {
      const b = (await res.json()) as { code?: string };
      if (b.code) code = b.code;
    } catch {
      // keep the HTTP code
    }
    throw new ApiError(res.status, code, 'the server refused this admin token');
  }
  sessionStorage.setItem(TOKEN_KEY, token);
}

/** Forgets the credential and ends the cookie session. */
export async function logout(): Promise<void> {
  sessionStorage.removeItem(TOKEN_KEY);
  await fetch('/api/session', { method: 'DELETE', credentials: 'same-origin' }).catch(() => undefined);
}

/**
 * What the live stream delivers: a decision, or how many decisions the server did not send live (it caps live
 * events per second on a busy sidecar; views refetch).
 */
export type LiveEvent =
  | { kind: 'decision'; entry: DecisionEntry }
  | { kind: 'skipped'; count: number; size: number };

/** One decision as the API sends it. */
export interface DecisionEntry {
  index: number;
  record: DecisionRecord;
}

/**
 * Live decisions; `onState` reports whether the stream is connected. EventSource retries network errors itself but
 * gives up for good on an HTTP error (e.g. 401 once the server restarted and forgot the session): then `onState` gets
 * 'closed' and the caller renews the session and opens a new stream. Returns a closer.
 */
export function openEvents(
  onEvent: (e: LiveEvent) => void,
  onState: (state: 'live' | 'retrying' | 'closed') => void,
): () => void {
  const es = new EventSource('/api/events', { withCredentials: true });
  es.addEventListener('open', () => onState('live'));
  es.addEventListener('error', () => onState(es.readyState === EventSource.CLOSED ? 'closed' : 'retrying'));
  es.addEventListener('decision', (ev) => {
    try {
      onEvent({ kind: 'decision', entry: JSON.parse((ev as MessageEvent<string>).data) as DecisionEntry });
    } catch {
      // a malformed event is ignored; the next refetch repairs the view
    }
  });
  es.addEventListener('skipped', (ev) => {
    try {
      const d = JSON.parse((ev as MessageEvent<string>).data) as { count: number; size: number };
      onEvent({ kind: 'skipped', count: d.count, size: d.size });
    } catch {
      // ignored, as above
    }
  });
  return () => es.close();
}
