/**
 * In-browser audit proof check: nothing here trusts the server. Given the entry bytes, the RFC 9162 §2.1.3.1
 * inclusion path and a C2SP signed checkpoint, it checks — with the ledger's browser-safe modules
 * (@noble/ed25519 + @noble/hashes underneath) and the verifier key the operator pinned —
 *  1. the checkpoint note carries a valid Ed25519 signature by the pinned key (c2sp.org/signed-note) and parses as a
 *     c2sp.org/tlog-checkpoint whose origin is the key's name;
 *  2. the proof is for the checkpoint's tree size;
 *  3. the entry bytes are a canonical decision record equal to the one on screen;
 *  4. leaf hash SHA-256(0x00 ‖ entry) climbs the path to the checkpoint root (RFC 9162 §2.1.3.2).
 */
import { decodeEntry } from '../../src/ledger/decode-entry.js';
import { leafHash } from '../../src/ledger/leaf-hash.js';
import { openCheckpoint } from '../../src/ledger/parse-checkpoint.js';
import { verifyInclusion } from '../../src/ledger/verify-inclusion.js';
import type { DecisionRecord, ProofBundle } from './types.js';

/** One check and its outcome. */
export interface Check {
  label: string;
  ok: boolean;
  detail: string;
}

/** The whole verdict. */
export interface ProofVerdict {
  ok: boolean;
  /** One-line reason: what verified, or the first thing that failed. */
  reason: string;
  checks: Check[];
  /** Tree size and root (hex) of the verified checkpoint, when it verified. */
  size?: number;
  rootHex?: string;
  origin?: string;
}

/**
 * Runs every check in order and stops at the first failure (later checks would be meaningless). Never throws and
 * never says verified for anything malformed: the server's answer is untrusted input (fail closed).
 */
export function verifyProof(bundle: ProofBundle, shown: DecisionRecord, pinnedKey: string | undefined): ProofVerdict {
  try {
    return run(bundle, shown, pinnedKey);
  } catch (e) {
    return {
      ok: false,
      reason: `Server answer: could not be checked (${errText(e)})`,
      checks: [{ label: 'Server answer', ok: false, detail: errText(e) }],
    };
  }
}

function wellFormed(b: unknown): b is ProofBundle {
  if (typeof b !== 'object' || b === null) return false;
  const x = b as Record<string, unknown>;
  const count = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  return (
    count(x.index) &&
    count(x.size) &&
    typeof x.entry === 'string' &&
    typeof x.checkpoint === 'string' &&
    Array.isArray(x.proof) &&
    x.proof.length <= 64 &&
    x.proof.every((h) => typeof h === 'string')
  );
}

function run(bundle: ProofBundle, shown: DecisionRecord, pinnedKey: string | undefined): ProofVerdict {
  const checks: Check[] = [];
  const fail = (label: string, detail: string): ProofVerdict => {
    checks.push({ label, ok: false, detail });
    return { ok: false, reason: `${label}: ${detail}`, checks };
  };
  if (!pinnedKey) {
    return fail('Pinned key', 'no verifier key is pinned in this browser; set one under Settings');
  }
  if (!wellFormed(bundle)) return fail('Server answer', 'the proof answer is not well-formed');

  let cp: ReturnType<typeof openCheckpoint>;
  try {
    cp = openCheckpoint(bundle.checkpoint, pinnedKey);
  } catch (e) {
    return fail('Checkpoint signature', errText(e));
  }
  checks.push({
    label: 'Checkpoint signature',
    ok: true,
    detail: `signed by the pinned key for ${cp.origin}; tree size ${cp.size}`,
  });

  if (cp.size !== bundle.size || bundle.index >= cp.size) {
    return fail('Tree size', `the proof is for size ${bundle.size}, the checkpoint commits to ${cp.size}`);
  }
  checks.push({ label: 'Tree size', ok: true, detail: `entry ${bundle.index} of ${cp.size}` });

  const entry = b64ToBytes(bundle.entry);
  if (!entry) return fail('Entry bytes', 'the server sent an entry that is not base64');
  let record: unknown;
  try {
    // A decision or a lifecycle entry (docs/ledger.md §4): both are canonical records.
    record = decodeEntry(entry);
  } catch (e) {
    return fail('Entry bytes', errText(e));
  }
  if (!sameJson(record, shown)) {
    return fail('Entry bytes', 'the logged entry differs from the decision shown on this page');
  }
  checks.push({ label: 'Entry bytes', ok: true, detail: 'canonical record, identical to the decision shown' });

  const path: Uint8Array[] = [];
  for (const h of bundle.proof) {
    const b = b64ToBytes(h);
    if (!b || b.length !== 32) return fail('Inclusion proof', 'a proof hash is not 32 bytes of base64');
    path.push(b);
  }
  if (!verifyInclusion(leafHash(entry), bundle.index, cp.size, path, cp.root)) {
    return fail('Inclusion proof', `the ${path.length}-hash path does not lead to the signed root`);
  }
  checks.push({
    label: 'Inclusion proof',
    ok: true,
    detail: `${path.length} hashes lead from the leaf to the signed root`,
  });
  const rootHex = [...cp.root].map((b) => b.toString(16).padStart(2, '0')).join('');
  return {
    ok: true,
    reason: `entry ${bundle.index} is in the log of size ${cp.size} signed by ${cp.origin}`,
    checks,
    size: cp.size,
    rootHex,
    origin: cp.origin,
  };
}

function errText(e: unknown): string {
  const code = (e as { code?: unknown })?.code;
  const msg = e instanceof Error ? e.message : String(e);
  return typeof code === 'string' ? `${code} — ${msg}` : msg;
}

/** Strict, canonical standard base64 decode (RFC 4648 §4, §3.5), or undefined. */
export function b64ToBytes(s: string): Uint8Array | undefined {
  if (typeof s !== 'string' || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return undefined;
  try {
    const bin = atob(s);
    // Canonical only: atob ignores non-zero padding bits, so two strings could name the same bytes.
    if (btoa(bin) !== s) return undefined;
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return undefined;
  }
}

/** Structural equality of two JSON values (key order ignored). */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** `GET /api/proofs` answer: many entries proved against one checkpoint. */
export interface RangeProofs {
  size: number;
  checkpoint: string;
  entries: { index: number; entry: string; proof: string[] }[];
}

/** The verdict of a whole range: which entries verified, and each failure named by its entry. */
export interface RangeVerdict {
  ok: boolean;
  checked: number;
  failures: { index: number; reason: string }[];
  size?: number;
  origin?: string;
  reason: string;
}

/**
 * Verifies every entry of a range in one go: the checkpoint signature once (pinned key), then per entry the
 * record equality and the RFC 9162 §2.1.3.2 inclusion path to the signed root. `shown` maps entry index → the
 * record on screen. Never throws.
 */
export function verifyRange(
  answer: RangeProofs,
  shown: Map<number, DecisionRecord>,
  pinnedKey: string | undefined,
): RangeVerdict {
  const failures: { index: number; reason: string }[] = [];
  if (!pinnedKey) return { ok: false, checked: 0, failures, reason: 'no verifier key is pinned in this browser' };
  let cp: ReturnType<typeof openCheckpoint>;
  try {
    if (!answer || !Array.isArray(answer.entries) || typeof answer.checkpoint !== 'string') throw new Error('not well-formed');
    cp = openCheckpoint(answer.checkpoint, pinnedKey);
  } catch (e) {
    return { ok: false, checked: 0, failures, reason: `Checkpoint signature: ${errText(e)}` };
  }
  const seen = new Set<number>();
  for (const e of answer.entries) {
    const index = e?.index;
    if (!Number.isSafeInteger(index)) continue;
    seen.add(index);
    const fail = (reason: string) => failures.push({ index, reason });
    const record = shown.get(index);
    if (!record) {
      fail('the server proved an entry that is not in the range');
      continue;
    }
    const bytes = b64ToBytes(e.entry);
    if (!bytes) {
      fail('entry bytes are not base64');
      continue;
    }
    try {
      if (!sameJson(decodeEntry(bytes), record)) {
        fail('the logged entry differs from the one shown');
        continue;
      }
    } catch (err) {
      fail(`entry bytes: ${errText(err)}`);
      continue;
    }
    const path = Array.isArray(e.proof) ? e.proof.map((h) => b64ToBytes(h)) : [];
    if (index >= cp.size || path.some((h) => h?.length !== 32)) {
      fail('the proof is malformed or beyond the checkpoint');
      continue;
    }
    if (!verifyInclusion(leafHash(bytes), index, cp.size, path as Uint8Array[], cp.root))
      fail(`the ${path.length}-hash path does not lead to the signed root`);
  }
  for (const index of shown.keys()) if (!seen.has(index)) failures.push({ index, reason: 'the server sent no proof' });
  const checked = shown.size;
  const ok = failures.length === 0;
  return {
    ok,
    checked,
    failures,
    size: cp.size,
    origin: cp.origin,
    reason: ok
      ? `all ${checked} entries are in the log of size ${cp.size} signed by ${cp.origin}`
      : `${failures.length} of ${checked} entries failed`,
  };
}
