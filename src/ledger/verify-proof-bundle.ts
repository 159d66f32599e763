/**
 * Offline verification of a c2sp.org/tlog-proof@v1 bundle (browser-safe): needs only the log's
 * verifier key. Spec: c2sp.org/tlog-proof §Format.
 */
import { LedgerError } from './errors.js';
import { b64decode } from './lib/b64.js';
import { HASH_LEN, hashLeaf } from './lib/hash.js';
import type { NoteVerifier } from './lib/note-key.js';
import { openCheckpoint } from './parse-checkpoint.js';
import { verifyInclusion } from './verify-inclusion.js';

/** First line of every bundle. */
export const TLOG_PROOF_V1 = 'c2sp.org/tlog-proof@v1';

/** A parsed (not yet verified) bundle. */
export interface ProofBundle {
  extra?: Uint8Array;
  index: number;
  proof: Uint8Array[];
  /** The signed checkpoint note, verbatim. */
  checkpoint: string;
}

/** What a verified bundle proves. */
export interface VerifiedBundle {
  origin: string;
  index: number;
  size: number;
  root: Uint8Array;
  /** The entry bytes that were proven (the `entry` argument, or the bundle's extra data). */
  entry: Uint8Array;
}

/**
 * Parses the bundle text.
 * @throws LedgerError `LEDGER_BUNDLE_MALFORMED`.
 */
export function parseProofBundle(text: string): ProofBundle {
  const bad = (why: string) => new LedgerError('LEDGER_BUNDLE_MALFORMED', `malformed tlog-proof: ${why}`);
  if (typeof text !== 'string' || text.length > 128 * 1024) throw bad('not a string or too large');
  const lines = text.split('\n');
  let i = 0;
  if (lines[i++] !== TLOG_PROOF_V1) throw bad(`first line must be ${TLOG_PROOF_V1}`);
  let extra: Uint8Array | undefined;
  if (lines[i]?.startsWith('extra ')) {
    const e = b64decode((lines[i] as string).slice(6));
    if (!e) throw bad('extra is not base64');
    extra = e;
    i++;
  }
  const im = /^index (0|[1-9][0-9]{0,15})$/.exec(lines[i++] ?? '');
  if (!im) throw bad('missing or malformed index line');
  const index = Number(im[1]);
  if (!Number.isSafeInteger(index)) throw bad('index too large');
  const proof: Uint8Array[] = [];
  while (i < lines.length && lines[i] !== '') {
    const h = b64decode(lines[i] as string);
    if (!h || h.length !== HASH_LEN) throw bad(`proof line ${proof.length + 1} is not base64 of 32 bytes`);
    proof.push(h);
    if (proof.length > 64) throw bad('proof too long');
    i++;
  }
  if (lines[i] !== '') throw bad('missing empty line before the checkpoint');
  const checkpoint = lines.slice(i + 1).join('\n');
  if (checkpoint.length === 0) throw bad('missing checkpoint');
  return { ...(extra ? { extra } : {}), index, proof, checkpoint };
}

/**
 * Verifies a bundle: the checkpoint's signature by `verifierKey` (and origin), then the inclusion of
 * `entry` (default: the bundle's extra data, which SIGIL fills with the entry bytes) at `index`.
 * @throws LedgerError `LEDGER_BUNDLE_MALFORMED`, `LEDGER_NOTE_MALFORMED`, `LEDGER_SIGNATURE_INVALID`,
 * `LEDGER_ORIGIN_MISMATCH` or `LEDGER_PROOF_INVALID`.
 */
export function verifyProofBundle(
  text: string,
  verifierKey: string | NoteVerifier,
  options: { entry?: Uint8Array; origin?: string } = {},
): VerifiedBundle {
  const b = parseProofBundle(text);
  const cp = openCheckpoint(b.checkpoint, verifierKey, options.origin);
  const entry = options.entry ?? b.extra;
  if (!(entry instanceof Uint8Array))
    throw new LedgerError('LEDGER_BUNDLE_MALFORMED', 'no entry given and no extra data in the bundle');
  if (!verifyInclusion(hashLeaf(entry), b.index, cp.size, b.proof, cp.root)) {
    throw new LedgerError(
      'LEDGER_PROOF_INVALID',
      `entry ${b.index} is not included in the checkpointed tree of size ${cp.size}`,
    );
  }
  return { origin: cp.origin, index: b.index, size: cp.size, root: cp.root, entry };
}
