/**
 * Trust over time (docs/dashboard.md "Trust over time"): the browser remembers, per log origin, the last
 * checkpoint it verified (size and root, localStorage) and accepts a newer one only with an RFC 9162 §2.1.4.2
 * consistency proof from the remembered tree (RFC 6962 §2.1.2). A smaller tree (rollback) or a different root for
 * a size already seen or no valid proof (fork) raises an alarm and the remembered checkpoint is kept, so the alarm
 * stays until the operator looks at it. Nothing here trusts the server: signatures are checked with the pinned key.
 */
import { openCheckpoint } from '../../src/ledger/parse-checkpoint.js';
import { verifyConsistency } from '../../src/ledger/verify-consistency.js';
import { b64ToBytes } from './verify.js';

/** What the browser remembers of one log. */
export interface TrustedCheckpoint {
  origin: string;
  size: number;
  /** Root hash, hex. */
  root: string;
  /** When it was verified (epoch ms). */
  at: number;
}

/** The outcome of one check. */
export type TrustVerdict =
  | { ok: true; origin: string; size: number; first: boolean; from?: number }
  | {
      ok: false;
      kind: 'rollback' | 'fork' | 'signature' | 'unpinned' | 'unreachable';
      message: string;
      origin?: string;
      /** The size the browser had verified before. */
      verified?: number;
      /** The size the server showed now. */
      shown?: number;
    };

const PREFIX = 'sigil.trust.';
const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
const unhex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (h) => Number.parseInt(h, 16));

/** The remembered checkpoint of `origin`, if any (a damaged entry counts as none). */
export function trusted(origin: string): TrustedCheckpoint | undefined {
  try {
    const v = JSON.parse(localStorage.getItem(PREFIX + origin) ?? 'null') as TrustedCheckpoint | null;
    return v && Number.isSafeInteger(v.size) && /^[0-9a-f]{64}$/.test(v.root) ? v : undefined;
  } catch {
    return undefined;
  }
}

function remember(origin: string, size: number, root: Uint8Array): void {
  const v: TrustedCheckpoint = { origin, size, root: hex(root), at: Date.now() };
  localStorage.setItem(PREFIX + origin, JSON.stringify(v));
}

/** The checkpoint and consistency proof answers the check reads. */
export interface TrustSource {
  checkpoint(): Promise<{ size: number; note: string }>;
  consistency(from: number, to: number): Promise<{ from: number; size: number; checkpoint: string; proof: string[] }>;
}

/**
 * Checks the server's newest checkpoint against the remembered one (trust on first use for a log never seen).
 * Never throws.
 */
export async function checkTrust(src: TrustSource, pinnedKey: string | undefined): Promise<TrustVerdict> {
  if (!pinnedKey) return { ok: false, kind: 'unpinned', message: 'pin the verifier key under Settings to track the log' };
  let note: { size: number; note: string };
  try {
    note = await src.checkpoint();
  } catch (e) {
    return { ok: false, kind: 'unreachable', message: `no checkpoint: ${(e as Error).message}` };
  }
  let cp: ReturnType<typeof openCheckpoint>;
  try {
    cp = openCheckpoint(note.note, pinnedKey);
  } catch (e) {
    return { ok: false, kind: 'signature', message: `the checkpoint is not signed by the pinned key (${(e as Error).message})` };
  }
  const origin = cp.origin;
  const before = trusted(origin);
  if (!before) {
    remember(origin, cp.size, cp.root);
    return { ok: true, origin, size: cp.size, first: true };
  }
  const base = { origin, verified: before.size, shown: cp.size };
  if (cp.size < before.size)
    return {
      ok: false,
      kind: 'rollback',
      ...base,
      message: `ROLLBACK: the server shows a log of ${cp.size} entries, this browser verified ${before.size} before (${new Date(before.at).toISOString()})`,
    };
  if (cp.size === before.size) {
    if (hex(cp.root) === before.root) return { ok: true, origin, size: cp.size, first: false, from: before.size };
    return { ok: false, kind: 'fork', ...base, message: `FORK: a different root for size ${cp.size}, which this browser verified before` };
  }
  try {
    const c = await src.consistency(before.size, cp.size);
    const proof = c.proof.map((h) => b64ToBytes(h));
    const ok =
      c.from === before.size &&
      c.size === cp.size &&
      proof.every((h) => h?.length === 32) &&
      verifyConsistency(before.size, cp.size, proof as Uint8Array[], unhex(before.root), cp.root);
    if (!ok)
      return {
        ok: false,
        kind: 'fork',
        ...base,
        message: `FORK: no valid consistency proof from the verified size ${before.size} to ${cp.size}: the log was rewritten`,
      };
  } catch (e) {
    return { ok: false, kind: 'fork', ...base, message: `FORK: the server gave no consistency proof from ${before.size} to ${cp.size} (${(e as Error).message})` };
  }
  remember(origin, cp.size, cp.root);
  return { ok: true, origin, size: cp.size, first: false, from: before.size };
}
