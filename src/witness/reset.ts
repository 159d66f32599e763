/**
 * Operator recovery (docs/witness.md §Recovery): accepting a rollback the witnesses reported, so a
 * sidecar that refused to start can serve again (alarms stay raised), and making a SIGIL witness forget
 * a log it witnessed.
 */
import { join } from 'node:path';
import { readState, writeState } from './lib/state-file.js';

const ACCEPT_FORMAT = 'sigil-witness-rollback/v1';

interface Accepted {
  format: typeof ACCEPT_FORMAT;
  origin: string;
  accepted_at: string;
  reason: string;
}

/** `<witness dir>/rollback-accepted.json`. */
const acceptFile = (witnessDir: string) => join(witnessDir, 'rollback-accepted.json');

/** Records that the operator accepted the rollback of `origin` (`sigil audit witness-reset --accept-rollback`). */
export function acceptRollback(witnessDir: string, origin: string, reason: string, now = new Date()): void {
  const a: Accepted = { format: ACCEPT_FORMAT, origin, accepted_at: now.toISOString(), reason };
  writeState(acceptFile(witnessDir), a);
}

/** The acceptance recorded for `origin`, if any. @throws WitnessError `WITNESS_IO` (unreadable file). */
export function rollbackAccepted(
  witnessDir: string,
  origin: string,
): { accepted_at: string; reason: string } | undefined {
  const a = readState<Accepted | { format: typeof ACCEPT_FORMAT; origin?: undefined }>(
    acceptFile(witnessDir),
    ACCEPT_FORMAT,
    () => ({
      format: ACCEPT_FORMAT,
    }),
  );
  return a.origin === origin
    ? { accepted_at: (a as Accepted).accepted_at, reason: (a as Accepted).reason }
    : undefined;
}
