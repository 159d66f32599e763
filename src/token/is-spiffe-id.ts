/** Non-throwing SPIFFE ID check (SPIFFE-ID.md §2), for config validation and UI input. */
import { parseSpiffeId } from './spiffe-id.js';

/** True when `s` is a valid SPIFFE ID; the same rules as {@link parseSpiffeId}, without the error. */
export function isSpiffeId(s: unknown): s is string {
  try {
    parseSpiffeId(s);
    return true;
  } catch {
    return false;
  }
}
