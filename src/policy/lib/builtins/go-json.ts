/**
 * How Go's encoding/json reads JSON text that OPA decodes (JWT headers and claims): invalid UTF-8 becomes one
 * U+FFFD per bad byte, and numbers keep all their digits (OPA keeps json.Number text; JavaScript rounds to a
 * double beyond 2^53).
 */
import { randomBytes } from 'node:crypto';

/**
 * A well-formed non-ASCII UTF-8 sequence (Unicode §3.9 Table 3-7), over bytes as latin1 text, or else one
 * non-ASCII byte.
 */
const UTF8_SEQUENCE = new RegExp(
  [
    '[\\xc2-\\xdf][\\x80-\\xbf]',
    '\\xe0[\\xa0-\\xbf][\\x80-\\xbf]',
    '[\\xe1-\\xec\\xee\\xef][\\x80-\\xbf]{2}',
    '\\xed[\\x80-\\x9f][\\x80-\\xbf]',
    '\\xf0[\\x90-\\xbf][\\x80-\\xbf]{2}',
    '[\\xf1-\\xf3][\\x80-\\xbf]{3}',
    '\\xf4[\\x80-\\x8f][\\x80-\\xbf]{2}',
    '[\\x80-\\xff]',
  ].join('|'),
  'g',
);

/**
 * Bytes (as latin1 text) → string the way Go sees invalid UTF-8 (utf8.DecodeRune): each byte that does not start
 * a well-formed sequence becomes one U+FFFD (WHATWG decoding, Node's default, merges a truncated sequence into a
 * single U+FFFD, so OPA and SIGIL would disagree on e.g. `%E2%9C`).
 */
export function goUtf8(bytes: string): string {
  return bytes.replace(UTF8_SEQUENCE, (seq) =>
    seq.length === 1 ? '\ufffd' : Buffer.from(seq, 'latin1').toString('utf8'),
  );
}

/**
 * JSON text → the same value re-serialised for opa-wasm (raw JSON, see host.ts), with integers of 16+ digits kept
 * digit-exact, or undefined if it is not valid JSON. `bytes` is the text as latin1 (one char per byte).
 */
export function exactJsonText(bytes: string): string | undefined {
  const text = goUtf8(bytes);
  // Protect long integer literals outside strings with unique markers, parse, then put the digits back.
  const nonce = randomBytes(8).toString('hex');
  const big: string[] = [];
  const protectedText = text.replace(/"(?:[^"\\]|\\.)*"|(?<![\w.+-])-?\d{16,}(?![.eE\d])/g, (tok) => {
    if (tok.startsWith('"')) return tok;
    big.push(tok);
    return `"\\u0000${nonce}:${big.length - 1}"`;
  });
  let value: unknown;
  try {
    value = JSON.parse(protectedText);
  } catch {
    return undefined;
  }
  const out = JSON.stringify(value);
  if (big.length === 0) return out;
  return out.replace(new RegExp(`"\\\\u0000${nonce}:(\\d+)"`, 'g'), (_, i: string) => big[Number(i)]!);
}
