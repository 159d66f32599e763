/**
 * HTTP/2 frame layout and the few header blocks the h2c server sends (RFC 9113 §4.1, §6; RFC 7541 §6.2.2).
 * The server never indexes what it sends, so it keeps no encoder state and any peer table size is fine.
 */

/** Frame types (RFC 9113 §6). */
export const T = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

/** Frame flags (RFC 9113 §6). ACK shares END_STREAM's bit on SETTINGS and PING. */
export const F = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;

/** Error codes (RFC 9113 §7). */
export const E = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  ENHANCE_YOUR_CALM: 0xb,
} as const;

/** SETTINGS identifiers (RFC 9113 §6.5.2). */
export const S = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

/** The client connection preface (RFC 9113 §3.4). */
export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** Frame header bytes (RFC 9113 §4.1). */
export const HEADER_BYTES = 9;
/** The largest flow-control window (RFC 9113 §6.9.1). */
export const MAX_WINDOW = 0x7fff_ffff;
/** Initial flow-control window before any SETTINGS or WINDOW_UPDATE (RFC 9113 §6.9.2). */
export const DEFAULT_WINDOW = 65_535;
/** SETTINGS_MAX_FRAME_SIZE's initial value and floor (RFC 9113 §6.5.2). */
export const DEFAULT_MAX_FRAME = 16_384;

/** Writes a frame header at `off` of `out`. */
export function putHeader(
  out: Buffer,
  off: number,
  length: number,
  type: number,
  flags: number,
  stream: number,
): void {
  out[off] = length >>> 16;
  out[off + 1] = (length >>> 8) & 0xff;
  out[off + 2] = length & 0xff;
  out[off + 3] = type;
  out[off + 4] = flags;
  out.writeUInt32BE(stream, off + 5);
}

/** One whole frame. */
export function frame(type: number, flags: number, stream: number, payload?: Uint8Array): Buffer {
  const n = payload?.length ?? 0;
  const out = Buffer.allocUnsafe(HEADER_BYTES + n);
  putHeader(out, 0, n, type, flags, stream);
  if (payload !== undefined) out.set(payload, HEADER_BYTES);
  return out;
}

/** SETTINGS with these (identifier, value) pairs (RFC 9113 §6.5.1). */
export function settingsFrame(pairs: ReadonlyArray<readonly [number, number]>): Buffer {
  const p = Buffer.allocUnsafe(6 * pairs.length);
  pairs.forEach(([id, v], i) => {
    p.writeUInt16BE(id, 6 * i);
    p.writeUInt32BE(v, 6 * i + 2);
  });
  return frame(T.SETTINGS, 0, 0, p);
}

/** A frame whose payload is one 32-bit value (RST_STREAM §6.4, WINDOW_UPDATE §6.9). */
export function u32Frame(type: number, stream: number, value: number): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + 4);
  putHeader(out, 0, 4, type, 0, stream);
  out.writeUInt32BE(value, HEADER_BYTES);
  return out;
}

/** GOAWAY with the last stream this endpoint will process (RFC 9113 §6.8). */
export function goAwayFrame(lastStream: number, code: number): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + 8);
  putHeader(out, 0, 8, T.GOAWAY, 0, 0);
  out.writeUInt32BE(lastStream, HEADER_BYTES);
  out.writeUInt32BE(code, HEADER_BYTES + 4);
  return out;
}

/** HPACK integer with an N-bit prefix (RFC 7541 §5.1); `first` holds the representation's pattern bits. */
function hpackInt(out: number[], first: number, prefixBits: number, value: number): void {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out.push(first | value);
    return;
  }
  out.push(first | max);
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
}

/** A string literal, not Huffman-coded (RFC 7541 §5.2, H = 0). Header values here are ASCII. */
function hpackString(out: number[], s: string): void {
  hpackInt(out, 0x00, 7, s.length);
  for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i) & 0xff);
}

/** A header field the server sends: a static-table index for its name, or a literal name. */
export type Field = readonly [name: string | number, value: string];

/**
 * A header block of literal fields without indexing (RFC 7541 §6.2.2): a static-table index (Appendix A)
 * names the field when given, else the name is a literal. `:status: 200` (static entry 8) is one octet (§6.1).
 */
export function headerBlock(fields: readonly Field[]): Buffer {
  const out: number[] = [];
  for (const [name, value] of fields) {
    if (name === 8 && value === '200') {
      out.push(0x88);
      continue;
    }
    if (typeof name === 'number') hpackInt(out, 0x00, 4, name);
    else {
      out.push(0x00);
      hpackString(out, name);
    }
    hpackString(out, value);
  }
  return Buffer.from(out);
}

/** Static-table indices of names the server sends (RFC 7541 Appendix A). */
export const NAME = { STATUS: 8, ALLOW: 22, CONTENT_TYPE: 31 } as const;
