/**
 * Verifying a cosigned checkpoint (browser-safe): the log's signature (c2sp.org/signed-note,
 * c2sp.org/tlog-checkpoint) and the Ed25519 cosignature/v1 lines of configured witnesses
 * (c2sp.org/tlog-cosignature), against a k-of-n witness policy.
 */
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import {
  b64decode,
  type Checkpoint,
  LedgerError,
  type NoteVerifier,
  parseCheckpoint,
  verifyNote,
} from '../ledger/browser.js';
import { WitnessError } from './errors.js';
import { type CosignerKey, cosignedMessage, parseCosignerKey } from './lib/cosigner-key.js';
import { quorumMet, type WitnessPolicy } from './witness-policy.js';

if (!ed.hashes.sha512) ed.hashes.sha512 = sha512;

/** What a cosigned checkpoint proved. */
export interface CosignedCheckpoint {
  checkpoint: Checkpoint;
  /** The note text (checkpoint body, with its final newline). */
  text: string;
  /** Witnesses whose cosignature verified, in configuration order, with their POSIX timestamp (s). */
  cosigners: Array<{ name: string; time: number }>;
}

/** Options of {@link verifyCosigned}: the log key(s), and either witnesses with k, or a tlog-policy. */
export interface VerifyCosignedOptions {
  /** The log's verifier key(s) (`<origin>+<id>+<key>`). Default: the policy's `log` lines. */
  logKey?: string | NoteVerifier | ReadonlyArray<string | NoteVerifier>;
  /** Cosigner vkeys of the witnesses (type 0x04). */
  witnesses?: ReadonlyArray<string | CosignerKey>;
  /** Required number of distinct witnesses (0 = only verify what is there). */
  k?: number;
  /** A c2sp.org/tlog-policy (its witnesses and quorum replace `witnesses` and `k`). */
  policy?: WitnessPolicy;
}

/** An Ed25519 verification primitive: `(signature, message, 32-byte public key) → valid?`. */
export type Ed25519Verify = (sig: Uint8Array, msg: Uint8Array, publicKey: Uint8Array) => boolean;

/** Strict RFC 8032 verification with @noble/ed25519 (browser-safe). */
const nobleVerify: Ed25519Verify = (sig, msg, publicKey) => {
  try {
    return ed.verify(sig, msg, publicKey, { zip215: false });
  } catch {
    return false;
  }
};

/** Splits a signed note at its last blank line into text and signature lines (signed-note §Format). */
export function splitNote(note: string): { text: string; lines: string[] } {
  const sep = note.lastIndexOf('\n\n');
  if (sep < 0 || !note.endsWith('\n')) throw new WitnessError('WITNESS_BAD_REQUEST', 'malformed note');
  return { text: note.slice(0, sep + 1), lines: note.slice(sep + 2, -1).split('\n') };
}

/**
 * Verifies the cosignature lines of `witnesses` found in signature `lines` over checkpoint `text`.
 * Lines of other keys are ignored (tlog-witness: "The client MUST ignore any cosignatures from unknown
 * keys"); a line with a configured witness's name and key ID that fails is a forgery and rejects all.
 * @throws WitnessError `WITNESS_COSIGNATURE_INVALID`.
 */
export function verifyCosignatureLines(
  text: string,
  lines: readonly string[],
  witnesses: readonly CosignerKey[],
  verify: Ed25519Verify = nobleVerify,
): Array<{ name: string; time: number }> {
  const found = new Map<CosignerKey, number>();
  for (const line of lines) {
    const m = /^\u2014 (\S+) (\S+)$/u.exec(line);
    if (!m) continue;
    const raw = b64decode(m[2] as string);
    if (!raw || raw.length < 4) continue;
    const w = witnesses.find((k) => k.name === m[1] && k.keyId.every((b, i) => raw[i] === b));
    if (!w) continue;
    const forged = () =>
      new WitnessError('WITNESS_COSIGNATURE_INVALID', `cosignature by witness ${w.name} does not verify`);
    // timestamped_signature: u64 big-endian timestamp, 64-byte Ed25519 signature (tlog-cosignature §Format).
    if (raw.length !== 4 + 8 + 64) throw forged();
    const t = new DataView(raw.buffer, raw.byteOffset + 4, 8).getBigUint64(0, false);
    if (t === 0n || t > 2n ** 63n - 1n) throw forged();
    if (!verify(raw.subarray(12), cosignedMessage(t, text), w.publicKey)) throw forged();
    if (!found.has(w)) found.set(w, Number(t));
  }
  return witnesses.filter((w) => found.has(w)).map((w) => ({ name: w.name, time: found.get(w) as number }));
}

/**
 * Verifies a cosigned checkpoint note: the log signature and origin (ledger `openCheckpoint`), every
 * configured witness's cosignature present, and at least `k` distinct witnesses.
 * @throws LedgerError (log signature), WitnessError `WITNESS_COSIGNATURE_INVALID`, `WITNESS_POLICY_UNMET`.
 */
export function verifyCosigned(note: string, o: VerifyCosignedOptions): CosignedCheckpoint {
  const logKeys = o.logKey ?? o.policy?.logs ?? [];
  const { text: signed, keyName } = verifyNote(note, logKeys as ReadonlyArray<string | NoteVerifier>);
  const checkpoint = parseCheckpoint(signed);
  // c2sp.org/tlog-checkpoint: the log's key is named after its origin.
  if (checkpoint.origin !== keyName)
    throw new LedgerError(
      'LEDGER_ORIGIN_MISMATCH',
      `checkpoint origin "${checkpoint.origin}" is not "${keyName}"`,
    );
  const { text, lines } = splitNote(note);
  const keys = o.policy
    ? o.policy.witnesses.map((w) => w.key)
    : (o.witnesses ?? []).map((w) => (typeof w === 'string' ? parseCosignerKey(w) : w));
  const cosigners = verifyCosignatureLines(text, lines, keys);
  const names = cosigners.map((c) => c.name);
  const missing = keys.filter((w) => !names.includes(w.name)).map((w) => w.name);
  const met = o.policy
    ? quorumMet(o.policy, new Set(keys.filter((w) => names.includes(w.name)).map((w) => w.vkey)))
    : cosigners.length >= (o.k ?? 0);
  if (!met) {
    const want = o.policy ? `quorum "${o.policy.quorum}"` : `${o.k} required`;
    throw new WitnessError(
      'WITNESS_POLICY_UNMET',
      `checkpoint ${checkpoint.size} has ${cosigners.length} cosignatures, ${want} (missing: ${missing.join(', ') || 'none'})`,
    );
  }
  return { checkpoint, text, cosigners };
}
