/**
 * Admin credential checks. Two carriers (docs/dashboard.md, "Authentication"):
 * - `Authorization: Bearer <sigil.admin.token>` on every request (what `fetch` uses);
 * - a short-lived session cookie minted by `POST /api/session` (which itself needs the Bearer header), accepted on
 *   GET (and to log out) only. It exists because `EventSource` cannot send headers; restricting it to GET means a cookie alone can
 *   never change state, and `SameSite=Strict` + `HttpOnly` keep it away from other sites and from scripts.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { sha256 } from '../../../lib/bytes.js';
import type { Clock } from '../../../lib/clock.js';

/** Name of the session cookie. */
export const SESSION_COOKIE = 'sigil_admin_session';

/** Extracts the Bearer credential (RFC 6750 §2.1), or undefined. */
export function bearerOf(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (typeof h !== 'string') return undefined;
  return /^Bearer[ ]+([\x21-\x7e]{1,4096})$/i.exec(h.trim())?.[1];
}

/** Reads one cookie value from the Cookie header, or undefined. */
export function cookieOf(req: IncomingMessage, name: string): string | undefined {
  const h = req.headers.cookie;
  if (typeof h !== 'string' || h.length > 8192) return undefined;
  for (const part of h.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

const MAX_SESSIONS = 64;

/** In-memory session store: random ids, stored only as SHA-256, bounded in number and lifetime. */
export class SessionStore {
  readonly #sessions = new Map<string, number>();
  readonly #clock: Clock;
  readonly #ttlMs: number;

  constructor(clock: Clock, ttlMs: number) {
    this.#clock = clock;
    this.#ttlMs = ttlMs;
  }

  /** Creates a session and returns its id (the cookie value). */
  create(): string {
    const id = randomBytes(32).toString('base64url');
    const now = this.#clock.nowMs();
    for (const [k, exp] of this.#sessions) if (exp <= now) this.#sessions.delete(k);
    // Oldest first in Map insertion order: drop it when full rather than refusing a fresh login.
    if (this.#sessions.size >= MAX_SESSIONS) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest !== undefined) this.#sessions.delete(oldest);
    }
    this.#sessions.set(hashId(id), now + this.#ttlMs);
    return id;
  }

  /** True when `id` names a live session. */
  valid(id: string): boolean {
    if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return false;
    const key = hashId(id);
    if ((this.#sessions.get(key) ?? 0) > this.#clock.nowMs()) return true;
    this.#sessions.delete(key);
    return false;
  }

  /** Ends a session. */
  revoke(id: string): void {
    this.#sessions.delete(hashId(id));
  }
}

const hashId = (id: string): string => sha256(id, 'base64url');
