/** Reading the witness client's stored cosigned checkpoints without running it (`sigil audit checkpoint --cosigned`). */
import { readState } from './lib/state-file.js';

/** The cosigned checkpoint of `size` (default: the newest) in the client state file, if any. */
export function storedCosigned(stateFile: string, size?: number): { size: number; note: string } | undefined {
  const s = readState<{ format: string; cosigned: Array<{ size: number; note: string }> }>(
    stateFile,
    'sigil-witness-client/v1',
    () => ({ format: 'sigil-witness-client/v1', cosigned: [] }),
  );
  return size === undefined ? s.cosigned.at(-1) : s.cosigned.find((c) => c.size === size);
}
