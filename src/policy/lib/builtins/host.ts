/**
 * Shared types and helpers for SIGIL's host builtins (see `../builtins.ts` for how opa-wasm calls them).
 */

/** A host builtin as opa-wasm calls it: JSON-decoded arguments in, a JSON value (or raw JSON text) out. */
export type HostBuiltin = (...args: unknown[]) => unknown;

/** Per-evaluation state the host builtins read. */
export interface BuiltinState {
  /** Evaluation time in epoch nanoseconds, fixed for the whole evaluation like OPA's `time.now_ns()`. */
  nowNs: bigint;
}

/**
 * Raw JSON text for opa-wasm: an ArrayBuffer result is parsed inside Wasm, so numbers beyond 2^53 (nanosecond
 * times) stay exact.
 */
export function rawJson(text: string): ArrayBuffer {
  const b = Buffer.from(text, 'utf8');
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;
}
