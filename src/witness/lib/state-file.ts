/**
 * A small crash-safe JSON state file: read once, replaced atomically (temp file, fsync, rename, fsync of
 * the directory) on every change, so a crash leaves the old state or the new one, never half of one.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../../lib/atomic-write.js';
import { WitnessError } from '../errors.js';

/** Reads `file` as JSON with `format` (the file's own format tag); `fallback()` when it does not exist. */
export function readState<T extends { format: string }>(file: string, format: string, fallback: () => T): T {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return fallback();
    throw new WitnessError('WITNESS_IO', `cannot read ${file}`, e);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new WitnessError('WITNESS_IO', `${file} is not JSON: refusing to start from an unknown state`, e);
  }
  if ((value as { format?: unknown } | null)?.format !== format)
    throw new WitnessError('WITNESS_IO', `${file} is not a "${format}" file`);
  return value as T;
}

/** Replaces `file` with `state` as JSON, durably. @throws WitnessError `WITNESS_IO`. */
export function writeState(file: string, state: unknown): void {
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileAtomic(file, `${JSON.stringify(state, null, 1)}\n`, 0o600);
  } catch (e) {
    throw new WitnessError('WITNESS_IO', `cannot write ${file}`, e);
  }
}
