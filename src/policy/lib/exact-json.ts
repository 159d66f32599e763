/**
 * Numbers a JS double cannot hold, kept exact on their way into the Wasm. opa-envoy-plugin decodes bodies with
 * json.Number (arbitrary precision) and int64 fields exactly, so `input.parsed_body.amount > 9007199254740992`
 * is true there for 9007199254740993; JSON.parse would round it to 9007199254740992 and the rule would not fire
 * (an allow where the plugin denies). Such numbers become {@link RawNumber} and are written into the input JSON
 * text as they came (RFC 8259 §6 number syntax), for the Wasm's own parser.
 */
import { randomBytes } from 'node:crypto';

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** The number for `text`, or a {@link RawNumber} when a double would change its value. */
export function exactNumber(text: string): number | RawNumber {
  const n = Number(text);
  const digits = text
    .replace(/^-/, '')
    .replace(/[eE].*$/, '')
    .replace('.', '')
    .replace(/^0+/, '')
    .replace(/0+$/, '');
  // Overflow to ±Infinity, underflow to 0, or more significant digits than a double keeps.
  if (!Number.isFinite(n) || (n === 0 && digits !== '')) return new RawNumber(text);
  return digits.length > 15 && String(n) !== text ? new RawNumber(text) : n;
}

/** Whether `text` may hold a number JSON.parse would round (a long digit run or an exponent). */
export function mayNeedExact(text: string): boolean {
  return /\d{16}|[\d.][eE]/.test(text);
}

/**
 * JSON.parse with numbers kept by {@link exactNumber}. Structure and strings are validated by JSON.parse itself
 * (the whole text first), so this accepts and refuses exactly what JSON.parse does.
 */
export function parseExact(text: string): unknown {
  JSON.parse(text); // throws on anything that is not JSON
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const str = (): string => {
    const start = i++;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (): unknown => {
    ws();
    const c = text[i];
    if (c === '"') return str();
    if (c === '{') {
      i++;
      // JSON.parse makes "__proto__" an own key; so does defineProperty (plain assignment would not).
      const o: Record<string, unknown> = {};
      ws();
      if (text[i] === '}') {
        i++;
        return o;
      }
      for (;;) {
        ws();
        const k = str();
        ws();
        i++; // ':'
        Object.defineProperty(o, k, { value: value(), enumerable: true, writable: true, configurable: true });
        ws();
        if (text[i++] === '}') return o;
      }
    }
    if (c === '[') {
      i++;
      const a: unknown[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return a;
      }
      for (;;) {
        a.push(value());
        ws();
        if (text[i++] === ']') return a;
      }
    }
    const m = /^-?[\d.eE+-]+|^true|^false|^null/.exec(text.slice(i, i + 4096))![0];
    i += m.length;
    if (m === 'true') return true;
    if (m === 'false') return false;
    if (m === 'null') return null;
    return NUMBER.test(m) ? exactNumber(m) : Number(m);
  };
  return value();
}

/** Marks a {@link RawNumber} inside JSON.stringify's output; the nonce keeps a request's strings from posing as one. */
const NONCE = randomBytes(8).toString('hex');
const MARKED = new RegExp(`"\\\\u0000n${NONCE}:(-?[0-9.eE+-]+)"`, 'g');
const MARKED_TEXT = `"\\u0000n${NONCE}:`;

/** A JSON number kept as its text because no double equals it. */
export class RawNumber {
  constructor(readonly text: string) {}
  /** JSON.stringify writes a marker string, which {@link stringifyInput} turns back into the number text. */
  toJSON(): string {
    return `\u0000n${NONCE}:${this.text}`;
  }
}

/** JSON text of an input document, with every {@link RawNumber} written as its number text. */
export function stringifyInput(input: unknown): string {
  const text = JSON.stringify(input) as string | undefined;
  if (text === undefined) return 'null';
  return text.includes(MARKED_TEXT) ? text.replace(MARKED, '$1') : text;
}
