/** Reading the witness client's stored cosigned checkpoints without running it (`sigil audit checkpoint --cosigned`). */
import { readState } from './lib/state-file.js';

/**
 * The stored cosigned checkpoint of exactly `size`, or the oldest whose size passes the `size` predicate, or
 * (no `size`) the newest; undefined if none.
 */
export function storedCosigned(
  stateFile: string,
  size?: number | ((size: number) => boolean),
): { size: number; note: string } | undefined {
  const s = readState<{ format: string; cosigned: Array<{ size: number; note: string }> }>(
    stateFile,
    'sigil-witness-client/v1',
    () => ({ format: 'sigil-witness-client/v1', cosigned: [] }),
  );
  if (size === undefined) return s.cosigned.at(-1);
  return s.cosigned.find((c) => (typeof size === 'number' ? c.size === size : size(c.size)));
}
