/**
 * The add-checkpoint wire format (c2sp.org/tlog-witness §add-checkpoint): request body, 200 response
 * (cosignature lines) and 409 response (`text/x.tlog.size`).
 */
import { b64decode, b64encode } from '../../ledger/browser.js';
import { WitnessError } from '../errors.js';

/** tlog-witness: "The client MUST NOT send more than 63 consistency proof lines." */
export const MAX_PROOF_LINES = 63;
/** Content type of a 409 body. */
export const SIZE_CONTENT_TYPE = 'text/x.tlog.size';
/** Largest request body accepted (a checkpoint with a few signatures and 63 hashes is < 4 KiB). */
export const MAX_BODY_BYTES = 16 * 1024;

/** A parsed add-checkpoint request. */
export interface AddCheckpointRequest {
  old: number;
  proof: Uint8Array[];
  /** The signed checkpoint note, verbatim. */
  note: string;
}

const DECIMAL = /^(0|[1-9][0-9]{0,15})$/;

/** `old <size>\n` ‖ proof lines ‖ `\n` ‖ checkpoint. */
export function formatAddCheckpoint(old: number, proof: readonly Uint8Array[], note: string): string {
  return `old ${old}\n${proof.map((h) => `${b64encode(h)}\n`).join('')}\n${note}`;
}

/**
 * Parses an add-checkpoint body: an old size line, zero to 63 base64 hash lines, an empty line, then the
 * checkpoint. @throws WitnessError `WITNESS_BAD_REQUEST`.
 */
export function parseAddCheckpoint(body: string): AddCheckpointRequest {
  const bad = (why: string) =>
    new WitnessError('WITNESS_BAD_REQUEST', `malformed add-checkpoint body: ${why}`);
  const end = body.indexOf('\n\n');
  if (end < 0) throw bad('no empty line before the checkpoint');
  const [first, ...hashes] = body.slice(0, end).split('\n');
  const m = /^old (\S+)$/.exec(first ?? '');
  if (!m || !DECIMAL.test(m[1] as string)) throw bad('first line must be "old <size>"');
  const old = Number(m[1]);
  if (!Number.isSafeInteger(old)) throw bad('old size too large');
  if (hashes.length > MAX_PROOF_LINES) throw bad(`more than ${MAX_PROOF_LINES} proof lines`);
  const proof = hashes.map((l) => {
    const h = b64decode(l);
    if (h?.length !== 32) throw bad('proof line is not base64 of 32 bytes');
    return h;
  });
  return { old, proof, note: body.slice(end + 2) };
}

/** Parses a 200 body: one or more signature lines `— <name> <base64>` (tlog-witness). */
export function parseCosignatureLines(body: string): string[] {
  if (!body.endsWith('\n'))
    throw new WitnessError('WITNESS_BAD_REQUEST', 'cosignature response must end in a newline');
  const lines = body.slice(0, -1).split('\n');
  if (lines.length === 0 || lines.length > 16 || !lines.every((l) => /^\u2014 \S+ \S+$/u.test(l)))
    throw new WitnessError('WITNESS_BAD_REQUEST', 'cosignature response is not a list of signature lines');
  return lines;
}

/** Parses a 409 body: the witness's latest cosigned size, then a newline. */
export function parseSizeBody(body: string): number {
  const m = /^(0|[1-9][0-9]{0,15})\n$/.exec(body);
  const n = m ? Number(m[1]) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new WitnessError('WITNESS_BAD_REQUEST', '409 body is not a tree size');
  return n;
}
