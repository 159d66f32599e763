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

/** Most arguments an OPA Wasm host builtin takes (`opa_builtin0` … `opa_builtin4`). */
const MAX_ARGS = 4;
/** The last {@link MAX_ARGS} texts `JSON.parse` saw while {@link withArgTexts} runs (ring buffer). */
const recent: string[] = [];
let recentNext = 0;
let capturing = false;

/**
 * Runs `evaluate` (one synchronous opa-wasm evaluation) while remembering the JSON text of every value opa-wasm
 * parses. opa-wasm hands host builtins their arguments as `JSON.parse(opa_json_dump(arg))`, so a nanosecond
 * timestamp (> 2^53) arrives rounded to a double; {@link argTexts} gives a builtin the exact text instead.
 * Only `JSON.parse` calls made synchronously inside `evaluate` are seen; the original is always restored.
 */
export function withArgTexts<T>(evaluate: () => T): T {
  if (capturing) return evaluate();
  const parse = JSON.parse;
  capturing = true;
  recentNext = 0;
  recent.length = 0;
  JSON.parse = function capture(text: string, reviver?: Parameters<typeof JSON.parse>[1]) {
    recent[recentNext] = String(text);
    recentNext = (recentNext + 1) % MAX_ARGS;
    return parse.call(JSON, text, reviver);
  } as typeof JSON.parse;
  try {
    return evaluate();
  } finally {
    JSON.parse = parse;
    capturing = false;
    recent.length = 0;
  }
}

/**
 * The JSON texts of the `n` arguments of the host builtin being called (opa-wasm parses them last, in order), or
 * undefined outside {@link withArgTexts}. Callers must check a text against the parsed argument before trusting it.
 */
export function argTexts(n: number): string[] | undefined {
  if (!capturing || n > MAX_ARGS || recent.length < n) return undefined;
  const out: string[] = [];
  for (let i = n; i > 0; i--) out.push(recent[(recentNext - i + MAX_ARGS) % MAX_ARGS]!);
  return out;
}
