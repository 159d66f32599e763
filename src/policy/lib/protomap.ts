/**
 * A protobuf message as the plain document opa-envoy-plugin makes of it (envoyauth/protomap.go), which is NOT
 * ProtoJSON: JSON field names, only populated fields, every message recursed into (so a Timestamp is
 * `{seconds, nanos}`, a wrapper `{value}`, an Any `{typeUrl, value}`), 64-bit integers (exact beyond 2^53:
 * lib/exact-json.ts) and enums as numbers, bytes as standard base64 with padding (Go's encoding/json for
 * []byte), and google.protobuf.Struct as its plain map (structpb.Struct.AsMap). Zero-valued scalars are absent (proto3 implicit presence: Go's Message.Range skips them).
 *
 * It walks protobuf-es's generated objects directly with the descriptors (the reflect API allocates a wrapper per
 * message and cost ~3× as much per Check). protobuf-es represents some well-known types natively in fields:
 * Struct as a JsonObject, wrappers as their primitive; both are mapped back to what Go's reflection sees.
 */
import { type DescField, type DescMessage, toJson } from '@bufbuild/protobuf';
import { RawNumber } from './exact-json.js';

type Doc = Record<string, unknown>;
type Obj = Record<string, unknown>;

const STRUCT = 'google.protobuf.Struct';
const WRAPPERS = new Set(
  ['Double', 'Float', 'Int64', 'UInt64', 'Int32', 'UInt32', 'Bool', 'String', 'Bytes'].map(
    (t) => `google.protobuf.${t}Value`,
  ),
);
/** FieldPresence.IMPLICIT (descriptor.proto editions feature): a zero value means "not set". */
const IMPLICIT = 2;

/** A scalar or enum value as Go's protoreflect Value.Interface() lands in OPA: numbers, strings, booleans. */
function scalar(v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : new RawNumber(v.toString());
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  return v;
}

function isZero(v: unknown): boolean {
  return v === '' || v === 0 || v === false || v === 0n || (v instanceof Uint8Array && v.length === 0);
}

/** google.protobuf.Value given natively as JSON, as protomap walks the message: its set `kind` member. */
function valueDoc(j: unknown): Doc {
  if (j === null) return { nullValue: 0 };
  if (typeof j === 'number') return { numberValue: j };
  if (typeof j === 'string') return { stringValue: j };
  if (typeof j === 'boolean') return { boolValue: j };
  if (Array.isArray(j)) return { listValue: listDoc(j) };
  return { structValue: j };
}

/** google.protobuf.ListValue given natively as a JSON array. */
const listDoc = (a: unknown[]): Doc => (a.length > 0 ? { values: a.map(valueDoc) } : {});

const isGenerated = (v: unknown): v is Obj => typeof v === 'object' && v !== null && '$typeName' in v;

/** A message-typed value: a generated message, or a natively represented Struct, Value, ListValue or wrapper. */
function message(desc: DescMessage, v: unknown): unknown {
  if (desc.typeName === STRUCT) return isGenerated(v) ? toJson(desc, v as never) : v;
  if (desc.typeName === 'google.protobuf.Value' && !isGenerated(v)) return valueDoc(v);
  if (desc.typeName === 'google.protobuf.ListValue' && Array.isArray(v)) return listDoc(v);
  if (WRAPPERS.has(desc.typeName) && (typeof v !== 'object' || v === null || v instanceof Uint8Array))
    return isZero(v) ? {} : { value: scalar(v) };
  return mapMessage(desc, v as Obj);
}

function list(f: DescField & { fieldKind: 'list' }, v: unknown[]): unknown[] {
  return f.listKind === 'message' ? v.map((x) => message(f.message, x)) : v.map(scalar);
}

function map(f: DescField & { fieldKind: 'map' }, v: Obj): Doc {
  const out: Doc = {};
  for (const k of Object.keys(v)) out[k] = f.mapKind === 'message' ? message(f.message, v[k]) : scalar(v[k]);
  return out;
}

function mapMessage(desc: DescMessage, msg: Obj): Doc {
  const out: Doc = {};
  for (const f of desc.fields) {
    let v: unknown;
    if (f.oneof) {
      const o = msg[f.oneof.localName] as { case?: string; value?: unknown } | undefined;
      if (o?.case !== f.localName) continue;
      v = o.value;
    } else {
      v = msg[f.localName];
      if (v === undefined) continue;
    }
    switch (f.fieldKind) {
      case 'message':
        out[f.jsonName] = message(f.message, v);
        break;
      case 'list':
        if ((v as unknown[]).length > 0) out[f.jsonName] = list(f, v as unknown[]);
        break;
      case 'map':
        if (Object.keys(v as Obj).length > 0) out[f.jsonName] = map(f, v as Obj);
        break;
      default:
        if (f.oneof || f.presence !== IMPLICIT || !isZero(v)) out[f.jsonName] = scalar(v);
    }
  }
  return out;
}

/** opa-envoy-plugin's protomap(msg) for a protobuf-es message `msg` of type `schema`. */
export function protomap(schema: DescMessage, msg: object): Doc {
  return mapMessage(schema, msg as Obj);
}
