/**
 * A direct protobuf encoder for the CheckResponse objects the pipeline builds (src/authz/respond.ts),
 * used as the gRPC response serializer. protobufjs' generic path (fromObject + encode) was the largest
 * single cost of a cached Check after grpc-js itself; this writes the same wire format (protobuf encoding
 * spec: varint / length-delimited / 64-bit records, fields in number order) in two passes — sizes, then
 * bytes into one buffer. Tested against the proto-loader decoder (test/authz/encode-response.test.ts).
 */
import type { CheckResponse, HeaderValueOption, ProtoStruct, ProtoValue } from '../types.js';

const APPEND_ACTION: Record<string, number> = {
  APPEND_IF_EXISTS_OR_ADD: 0,
  ADD_IF_ABSENT: 1,
  OVERWRITE_IF_EXISTS_OR_ADD: 2,
  OVERWRITE_IF_EXISTS: 3,
};

/** HTTP status names of envoy.type.v3.StatusCode the pipeline may use by name. */
const STATUS_BY_NAME: Record<string, number> = {
  OK: 200,
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  PayloadTooLarge: 413,
  TooManyRequests: 429,
  RequestHeaderFieldsTooLarge: 431,
  InternalServerError: 500,
  ServiceUnavailable: 503,
};

const varintSize = (v: number): number => {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
};
const strSize = (s: string): number => {
  const b = Buffer.byteLength(s);
  return varintSize(b) + b;
};
const lenSize = (inner: number): number => varintSize(inner) + inner;

function appendAction(a: string): number {
  const n = APPEND_ACTION[a];
  if (n === undefined) throw new Error(`unknown append action ${a}`);
  return n;
}

function statusCode(code: number | string): number {
  if (typeof code === 'number') return code;
  const n = STATUS_BY_NAME[code];
  if (n === undefined) throw new Error(`unknown HTTP status name ${code}`);
  return n;
}

// ---- sizes (each excludes its own tag and length prefix)

function headerValueSize(h: HeaderValueOption['header']): number {
  return 1 + strSize(h.key) + 1 + strSize(h.value);
}

function hvoSize(o: HeaderValueOption): number {
  let n = 1 + lenSize(headerValueSize(o.header));
  if (o.appendAction !== undefined) n += 1 + varintSize(appendAction(o.appendAction));
  if (o.keepEmptyValue !== undefined) n += 2;
  return n;
}

function valueSize(v: ProtoValue): number {
  if (v.stringValue !== undefined) return 1 + strSize(v.stringValue);
  if (v.numberValue !== undefined) return 1 + 8;
  if (v.boolValue !== undefined) return 2;
  if (v.structValue !== undefined) return 1 + lenSize(structSize(v.structValue));
  if (v.listValue !== undefined) {
    let n = 0;
    for (const x of v.listValue.values ?? []) n += 1 + lenSize(valueSize(x));
    return 1 + lenSize(n);
  }
  return 2; // null_value = 0
}

function structSize(s: ProtoStruct): number {
  let n = 0;
  for (const [k, v] of Object.entries(s.fields ?? {}))
    n += 1 + lenSize(1 + strSize(k) + 1 + lenSize(valueSize(v)));
  return n;
}

// ---- writer

class Out {
  readonly buf: Buffer;
  pos = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  varint(v: number): void {
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }
  tag(field: number, wire: number): void {
    this.buf[this.pos++] = (field << 3) | wire;
  }
  str(field: number, s: string): void {
    this.tag(field, 2);
    const b = Buffer.byteLength(s);
    this.varint(b);
    this.pos += this.buf.write(s, this.pos, b, 'utf8');
  }
  len(field: number, size: number): void {
    this.tag(field, 2);
    this.varint(size);
  }
}

function writeHvo(w: Out, field: number, o: HeaderValueOption): void {
  w.len(field, hvoSize(o));
  w.len(1, headerValueSize(o.header));
  w.str(1, o.header.key);
  w.str(2, o.header.value);
  if (o.appendAction !== undefined) {
    w.tag(3, 0);
    w.varint(appendAction(o.appendAction));
  }
  if (o.keepEmptyValue !== undefined) {
    w.tag(4, 0);
    w.varint(o.keepEmptyValue ? 1 : 0);
  }
}

function writeValue(w: Out, v: ProtoValue): void {
  if (v.stringValue !== undefined) w.str(3, v.stringValue);
  else if (v.numberValue !== undefined) {
    w.tag(2, 1);
    w.buf.writeDoubleLE(v.numberValue, w.pos);
    w.pos += 8;
  } else if (v.boolValue !== undefined) {
    w.tag(4, 0);
    w.varint(v.boolValue ? 1 : 0);
  } else if (v.structValue !== undefined) {
    w.len(5, structSize(v.structValue));
    writeStruct(w, v.structValue);
  } else if (v.listValue !== undefined) {
    let n = 0;
    for (const x of v.listValue.values ?? []) n += 1 + lenSize(valueSize(x));
    w.len(6, n);
    for (const x of v.listValue.values ?? []) {
      w.len(1, valueSize(x));
      writeValue(w, x);
    }
  } else {
    w.tag(1, 0);
    w.varint(0);
  }
}

function writeStruct(w: Out, s: ProtoStruct): void {
  for (const [k, v] of Object.entries(s.fields ?? {})) {
    const vs = valueSize(v);
    w.len(1, 1 + strSize(k) + 1 + lenSize(vs));
    w.str(1, k);
    w.len(2, vs);
    writeValue(w, v);
  }
}

/** Encodes `r` as envoy.service.auth.v3.CheckResponse bytes. */
export function encodeCheckResponse(r: CheckResponse): Buffer {
  // Present fields are written even when they hold the default, exactly like protobufjs, so both produce the same bytes.
  const statusInner =
    (r.status.code !== undefined ? 1 + varintSize(r.status.code) : 0) +
    (r.status.message !== undefined ? 1 + strSize(r.status.message) : 0);
  let size = 1 + lenSize(statusInner);
  let deniedInner = 0;
  let okInner = 0;
  if (r.deniedResponse) {
    const d = r.deniedResponse;
    deniedInner = 1 + lenSize(1 + varintSize(statusCode(d.status.code)));
    for (const h of d.headers) deniedInner += 1 + lenSize(hvoSize(h));
    if (d.body !== undefined) deniedInner += 1 + strSize(d.body);
    size += 1 + lenSize(deniedInner);
  } else if (r.okResponse) {
    const o = r.okResponse;
    for (const h of o.headers) okInner += 1 + lenSize(hvoSize(h));
    for (const k of o.headersToRemove) okInner += 1 + strSize(k);
    for (const h of o.responseHeadersToAdd) okInner += 1 + lenSize(hvoSize(h));
    size += 1 + lenSize(okInner);
  }
  const metaInner = r.dynamicMetadata ? structSize(r.dynamicMetadata) : -1;
  if (metaInner >= 0) size += 1 + lenSize(metaInner);

  const w = new Out(size);
  w.len(1, statusInner);
  if (r.status.code !== undefined) {
    w.tag(1, 0);
    w.varint(r.status.code);
  }
  if (r.status.message !== undefined) w.str(2, r.status.message);
  if (r.deniedResponse) {
    const d = r.deniedResponse;
    w.len(2, deniedInner);
    const code = statusCode(d.status.code);
    w.len(1, 1 + varintSize(code));
    w.tag(1, 0);
    w.varint(code);
    for (const h of d.headers) writeHvo(w, 2, h);
    if (d.body !== undefined) w.str(3, d.body);
  } else if (r.okResponse) {
    const o = r.okResponse;
    w.len(3, okInner);
    for (const h of o.headers) writeHvo(w, 2, h);
    for (const k of o.headersToRemove) w.str(5, k);
    for (const h of o.responseHeadersToAdd) writeHvo(w, 6, h);
  }
  if (r.dynamicMetadata) {
    w.len(4, metaInner);
    writeStruct(w, r.dynamicMetadata);
  }
  if (w.pos !== size) throw new Error(`CheckResponse encoder size mismatch: ${w.pos} != ${size}`);
  return w.buf;
}
