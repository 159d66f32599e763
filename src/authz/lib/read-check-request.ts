/**
 * A narrow protobuf wire reader for the Check hot path (docs/authz.md §Decoding): it reads only the fields the
 * built-in pipeline uses (source.principal and request.http id, method, headers, header_map, path, host,
 * body, raw_body) and returns them in exactly the shape @grpc/proto-loader gives them with PROTO_LOADER_OPTIONS
 * (protobufjs decode + toObject, defaults:false). Decoding the whole request into objects cost ~5 % of the
 * server's CPU per Check; the full object is now built only when a policy reads it.
 *
 * Protobuf encoding: https://protobuf.dev/programming-guides/encoding/ (varints, tags = field << 3 | wire type,
 * LEN = 2). It mirrors protobufjs 7 on every message it walks: scalar and message fields last-one-wins (messages
 * are replaced, not merged), map entries default to "" and last key wins, bytes are Buffer views of the input.
 * Whenever it meets anything it does not model — a known field with an unexpected wire type, a group, wire types
 * 3/4/6/7, a varint tag or length longer than 4 bytes, a length past the enclosing message — it returns
 * `undefined` and the caller uses the full proto-loader decoder, so such inputs behave exactly as before
 * (decoded the protobufjs way, or an RPC error). Not validated: the inside of sub-messages the pipeline never
 * reads (e.g. destination, metadata_context); protobufjs would reject garbage there, this reader skips it.
 */
import type { CheckRequest, HeaderValue, HttpRequest } from '../types.js';

/** Thrown internally to abandon the fast path; never escapes {@link readCheckRequest}. */
const BAIL = Symbol('bail');

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

/** Node's Buffer#utf8Slice (what protobufjs' BufferReader uses): same decoding as toString('utf8'), no argument checks. */
type Utf8Sliceable = Buffer & { utf8Slice(start: number, end: number): string };

class Cursor {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
  ) {
    this.pos = start;
  }

  /** A tag or a length: at most 4 bytes (< 2^28) here, longer ones go to the full decoder. */
  u28(end: number): number {
    const b = this.buf;
    let v = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (this.pos >= end) throw BAIL;
      const c = b[this.pos++] as number;
      v |= (c & 0x7f) << shift;
      if (c < 0x80) return v;
    }
    throw BAIL;
  }

  /** End offset of the LEN payload starting here; must stay inside the enclosing message. */
  len(end: number): number {
    const n = this.u28(end);
    const stop = this.pos + n;
    if (stop > end) throw BAIL;
    return stop;
  }

  string(end: number): string {
    const stop = this.len(end);
    const s = (this.buf as Utf8Sliceable).utf8Slice(this.pos, stop);
    this.pos = stop;
    return s;
  }

  /** bytes: a view of the input, as protobufjs' BufferReader returns (a fresh empty Buffer when empty). */
  bytes(end: number): Buffer {
    const stop = this.len(end);
    const b = stop === this.pos ? Buffer.alloc(0) : this.buf.subarray(this.pos, stop);
    this.pos = stop;
    return b;
  }

  /** Skips an unread field of wire type `wt`. */
  skip(wt: number, end: number): void {
    switch (wt) {
      case WIRE_VARINT:
        do {
          if (this.pos >= end) throw BAIL;
        } while ((this.buf[this.pos++] as number) & 0x80);
        return;
      case WIRE_I64:
        this.pos += 8;
        break;
      case WIRE_LEN:
        this.pos = this.len(end);
        return;
      case WIRE_I32:
        this.pos += 4;
        break;
      default:
        throw BAIL; // groups (3, 4) and invalid wire types (6, 7)
    }
    if (this.pos > end) throw BAIL;
  }
}

/** Skips field `wt` of a message: known fields (listed with their wire type) must have that wire type. */
function skipField(
  c: Cursor,
  field: number,
  wt: number,
  end: number,
  known: Readonly<Record<number, number>>,
): void {
  const want = known[field];
  if (want !== undefined && want !== wt) throw BAIL;
  c.skip(wt, end);
}

// Known field numbers → wire type, per message (proto/envoy/service/auth/v3/attribute_context.proto).
const L = WIRE_LEN;
const CHECK_REQUEST: Readonly<Record<number, number>> = { 1: L };
const ATTRIBUTE_CONTEXT: Readonly<Record<number, number>> = { 1: L, 2: L, 4: L, 10: L, 11: L, 12: L, 13: L };
const PEER: Readonly<Record<number, number>> = { 1: L, 2: L, 3: L, 4: L, 5: L };
const REQUEST: Readonly<Record<number, number>> = { 1: L, 2: L };
const HTTP_REQUEST: Readonly<Record<number, number>> = {
  1: L,
  2: L,
  3: L,
  4: L,
  5: L,
  6: L,
  7: L,
  8: L,
  9: WIRE_VARINT,
  10: L,
  11: L,
  12: L,
  13: L,
};
const HEADER_MAP: Readonly<Record<number, number>> = { 1: L };
const HEADER_VALUE: Readonly<Record<number, number>> = { 1: L, 2: L, 3: L };
const MAP_ENTRY: Readonly<Record<number, number>> = { 1: L, 2: L };

function readMapEntry(c: Cursor, end: number, into: Record<string, string>): void {
  let k = '';
  let v = '';
  while (c.pos < end) {
    const tag = c.u28(end);
    const f = tag >>> 3;
    const wt = tag & 7;
    if (f === 1 && wt === L) k = c.string(end);
    else if (f === 2 && wt === L) v = c.string(end);
    else skipField(c, f, wt, end, MAP_ENTRY);
  }
  into[k] = v;
}

function readHeaderValue(c: Cursor, end: number): HeaderValue {
  const h: HeaderValue = {};
  while (c.pos < end) {
    const tag = c.u28(end);
    const f = tag >>> 3;
    const wt = tag & 7;
    if (f === 1 && wt === L) h.key = c.string(end);
    else if (f === 2 && wt === L) h.value = c.string(end);
    else if (f === 3 && wt === L) h.rawValue = c.bytes(end);
    else skipField(c, f, wt, end, HEADER_VALUE);
  }
  return h;
}

function readHeaderMap(c: Cursor, end: number): { headers?: HeaderValue[] } {
  const list: HeaderValue[] = [];
  while (c.pos < end) {
    const tag = c.u28(end);
    const f = tag >>> 3;
    const wt = tag & 7;
    if (f === 1 && wt === L) {
      const stop = c.len(end);
      list.push(readHeaderValue(c, stop));
    } else skipField(c, f, wt, end, HEADER_MAP);
  }
  return list.length > 0 ? { headers: list } : {};
}

function readHttp(c: Cursor, end: number): HttpRequest {
  const h: HttpRequest = {};
  // protobufjs fills a plain object and toObject copies its own keys; an empty map is left out.
  let headers: Record<string, string> | undefined;
  while (c.pos < end) {
    const tag = c.u28(end);
    const f = tag >>> 3;
    const wt = tag & 7;
    if (wt === L) {
      switch (f) {
        case 1:
          h.id = c.string(end);
          continue;
        case 2:
          h.method = c.string(end);
          continue;
        case 3: {
          const stop = c.len(end);
          headers ??= {};
          readMapEntry(c, stop, headers);
          continue;
        }
        case 4:
          h.path = c.string(end);
          continue;
        case 5:
          h.host = c.string(end);
          continue;
        case 11:
          h.body = c.string(end);
          continue;
        case 12:
          h.rawBody = c.bytes(end);
          continue;
        case 13: {
          const stop = c.len(end);
          h.headerMap = readHeaderMap(c, stop);
          continue;
        }
      }
    }
    skipField(c, f, wt, end, HTTP_REQUEST);
  }
  if (headers !== undefined && Object.keys(headers).length > 0) h.headers = { ...headers };
  return h;
}

/**
 * The pipeline's fields of a serialized CheckRequest, or `undefined` when the input needs the full decoder.
 * Never throws.
 */
export function readCheckRequest(buf: Buffer): CheckRequest | undefined {
  try {
    const c = new Cursor(buf, 0);
    const end = buf.length;
    let attributes: NonNullable<CheckRequest['attributes']> | undefined;
    while (c.pos < end) {
      const tag = c.u28(end);
      const f = tag >>> 3;
      const wt = tag & 7;
      if (f === 1 && wt === L) {
        const aEnd = c.len(end);
        attributes = {};
        while (c.pos < aEnd) {
          const t2 = c.u28(aEnd);
          const f2 = t2 >>> 3;
          const w2 = t2 & 7;
          if (f2 === 1 && w2 === L) {
            const pEnd = c.len(aEnd);
            const peer: { principal?: string } = {};
            while (c.pos < pEnd) {
              const t3 = c.u28(pEnd);
              if (t3 >>> 3 === 4 && (t3 & 7) === L) peer.principal = c.string(pEnd);
              else skipField(c, t3 >>> 3, t3 & 7, pEnd, PEER);
            }
            attributes.source = peer;
          } else if (f2 === 4 && w2 === L) {
            const rEnd = c.len(aEnd);
            const request: { http?: HttpRequest } = {};
            while (c.pos < rEnd) {
              const t3 = c.u28(rEnd);
              if (t3 >>> 3 === 2 && (t3 & 7) === L) {
                const hEnd = c.len(rEnd);
                request.http = readHttp(c, hEnd);
              } else skipField(c, t3 >>> 3, t3 & 7, rEnd, REQUEST);
            }
            attributes.request = request;
          } else skipField(c, f2, w2, aEnd, ATTRIBUTE_CONTEXT);
        }
      } else skipField(c, f, wt, end, CHECK_REQUEST);
    }
    return attributes === undefined ? {} : { attributes };
  } catch {
    // BAIL (or anything unforeseen): the full decoder decides, exactly as before this reader existed.
    return undefined;
  }
}
