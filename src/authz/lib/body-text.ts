/**
 * The texts a request body can be read as (issue #18 items 1, 2, 7). An upstream may decode a body by its
 * BOM (Python's `json.loads(bytes)`, RFC 8259 §8.1 readers), by the content-type charset (Node body parsers)
 * or as lossy UTF-8 (`Buffer.toString()`); SIGIL inspects every one of those readings so that none of them
 * can hide a tools/call from the scope check.
 */
import { TextDecoder } from 'node:util';
import { AuthzError } from '../errors.js';

/** One way of reading the body. */
export interface Reading {
  text: string;
  /** Bytes were invalid in this encoding and were replaced by U+FFFD. */
  replaced: boolean;
  /** The reading a JSON content-type forces to be JSON (BOM / RFC 8259 detection). */
  primary: boolean;
}

type Label = string;

/** Python's json.detect_encoding: BOM first, else the NUL pattern of the first four bytes. */
function detect(b: Uint8Array): { label: Label; bom: number } {
  const [b0, b1, b2, b3] = b;
  if (b0 === 0xff && b1 === 0xfe && b2 === 0 && b3 === 0) return { label: 'utf-32le', bom: 4 };
  if (b0 === 0 && b1 === 0 && b2 === 0xfe && b3 === 0xff) return { label: 'utf-32be', bom: 4 };
  if (b0 === 0xff && b1 === 0xfe) return { label: 'utf-16le', bom: 2 };
  if (b0 === 0xfe && b1 === 0xff) return { label: 'utf-16be', bom: 2 };
  if (b0 === 0xef && b1 === 0xbb && b2 === 0xbf) return { label: 'utf-8', bom: 3 };
  if (b.length >= 4) {
    if (!b0) return { label: b1 ? 'utf-16be' : 'utf-32be', bom: 0 };
    if (!b1) return { label: b2 || b3 ? 'utf-16le' : 'utf-32le', bom: 0 };
  } else if (b.length === 2) {
    if (!b0) return { label: 'utf-16be', bom: 0 };
    if (!b1) return { label: 'utf-16le', bom: 0 };
  }
  return { label: 'utf-8', bom: 0 };
}

/** UTF-32 is not a WHATWG encoding, so TextDecoder lacks it; invalid units become U+FFFD. */
function decodeUtf32(b: Uint8Array, le: boolean): { text: string; replaced: boolean } {
  const parts: string[] = [];
  let chunk: number[] = [];
  let replaced = false;
  const end = b.length - (b.length % 4);
  for (let i = 0; i < end; i += 4) {
    const cp = le
      ? (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0
      : ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
    const ok = cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff);
    if (!ok) replaced = true;
    chunk.push(ok ? cp : 0xfffd);
    if (chunk.length === 8192) {
      parts.push(String.fromCodePoint(...chunk));
      chunk = [];
    }
  }
  if (end !== b.length) {
    replaced = true;
    chunk.push(0xfffd);
  }
  parts.push(String.fromCodePoint(...chunk));
  return { text: parts.join(''), replaced };
}

/** Decoders by label, strict and lossy: made once, not per request (a non-streaming decode keeps no state). */
const decoders = new Map<string, TextDecoder>();
function decoder(label: Label, fatal: boolean): TextDecoder {
  const key = `${label}/${fatal}`;
  let d = decoders.get(key);
  if (d === undefined) {
    d = new TextDecoder(label, { fatal, ignoreBOM: true });
    decoders.set(key, d);
  }
  return d;
}

function decode(label: Label, b: Uint8Array): { text: string; replaced: boolean } {
  if (label === 'utf-32le' || label === 'utf-32be') return decodeUtf32(b, label === 'utf-32le');
  try {
    return { text: decoder(label, true).decode(b), replaced: false };
  } catch {
    return { text: decoder(label, false).decode(b), replaced: true };
  }
}

/** The encodings a charset parameter names; throws 415 for one SIGIL cannot decode (e.g. UTF-7). */
function charsetLabels(contentType: string | undefined, detected: Label): Label[] {
  const m = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(contentType ?? '');
  if (!m) return [];
  const cs = m[1]!.toLowerCase();
  // Without a BOM, "utf-16"/"utf-32" may be read in either byte order.
  if (cs === 'utf-16' || cs === 'utf-32') {
    return detected.startsWith(cs) ? [detected] : [`${cs}le`, `${cs}be`];
  }
  if (cs === 'utf-32le' || cs === 'utf-32be') return [cs];
  try {
    return [new TextDecoder(cs).encoding];
  } catch {
    throw new AuthzError(
      'AUTHZ_UNSUPPORTED_ENCODING',
      `request body charset "${cs.slice(0, 64)}" is not supported`,
    );
  }
}

/**
 * Every reading of `body` a lenient upstream could make. A string body (Envoy without `pack_as_bytes`) that
 * holds U+FFFD has already lost bytes: it is one reading marked `replaced`, since the original bytes (a BOM, a
 * UTF-16 unit) cannot be recovered. Any other string is exactly the UTF-8 of the bytes and is read like them.
 */
export function bodyReadings(body: string | Uint8Array, contentType: string | undefined): Reading[] {
  if (typeof body === 'string' && body.includes('\uFFFD')) {
    return [{ text: body, replaced: true, primary: true }];
  }
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const { label, bom } = detect(bytes);
  const out: Reading[] = [{ ...decode(label, bytes.subarray(bom)), primary: true }];
  const seen = new Set([label]);
  // Node's Buffer.toString() is lossy UTF-8 whatever the BOM says.
  for (const l of [...charsetLabels(contentType, label), 'utf-8']) {
    if (seen.has(l)) continue;
    seen.add(l);
    out.push({ ...decode(l, bytes), primary: false });
  }
  return out;
}
