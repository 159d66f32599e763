/**
 * Verifying one collector answer (browser-safe; docs/witness.md §6): the tlog-proof bundle's checkpoint
 * signature with a pinned log key, the entry's inclusion (RFC 6962 §2.1.1), and the checkpoint's witness
 * cosignatures against the policy (c2sp.org/tlog-cosignature). Used by `sigil audit collect` and by the
 * dashboard's Mesh view, which never takes the collector's word for it.
 */
import {
  type DecisionRecord,
  decodeRecord,
  type NoteVerifier,
  verifyProofBundle,
} from '../ledger/browser.js';
import { WitnessError } from './errors.js';
import { verifyCosigned } from './verify-cosigned.js';
import type { WitnessPolicy } from './witness-policy.js';

/** What a verified answer proves. */
export interface VerifiedAnswer {
  origin: string;
  index: number;
  /** The record, decoded from the proven entry bytes. */
  record: DecisionRecord;
  checkpoint_size: number;
  /** Witnesses whose cosignature verified. */
  cosigners: string[];
}

/**
 * Verifies `bundle` as the answer for entry `index` of the log pinned by `logKey` (default: the policy's
 * `log` line whose origin is the bundle checkpoint's).
 * @throws LedgerError (signature, origin, inclusion) or WitnessError `WITNESS_BAD_REQUEST` (wrong index, log
 * not pinned), `WITNESS_COSIGNATURE_INVALID`, `WITNESS_POLICY_UNMET`.
 */
export function verifyAnswer(
  bundle: string,
  o: { index: number; policy: WitnessPolicy; logKey?: string | NoteVerifier },
): VerifiedAnswer {
  const note = bundle.slice(bundle.indexOf('\n\n') + 2);
  const origin = note.slice(0, note.indexOf('\n'));
  const logKey = o.logKey ?? o.policy.logs.find((l) => l.name === origin);
  if (!logKey) throw new WitnessError('WITNESS_BAD_REQUEST', `log ${origin} is not in the witness policy`);
  const proven = verifyProofBundle(bundle, logKey);
  if (proven.index !== o.index)
    throw new WitnessError('WITNESS_BAD_REQUEST', `answer for index ${o.index} proves index ${proven.index}`);
  const cosigned = verifyCosigned(note, { logKey, policy: o.policy });
  return {
    origin: proven.origin,
    index: proven.index,
    record: decodeRecord(proven.entry),
    checkpoint_size: proven.size,
    cosigners: cosigned.cosigners.map((c) => c.name),
  };
}
