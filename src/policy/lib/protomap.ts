/**
 * A protobuf message as the plain document opa-envoy-plugin makes of it (envoyauth/protomap.go), which is NOT
 * ProtoJSON: JSON field names, only populated fields, every message recursed into (so a Timestamp is
 * `{seconds, nanos}`, a wrapper `{value}`, an Any `{typeUrl, value}`), 64-bit integers and enums as numbers, bytes
 * as standard base64 with padding (Go's encoding/json for []byte), and google.protobuf.Struct as its plain map
 * (structpb.Struct.AsMap). Zero-valued scalars are absent (proto3 implicit presence: Go's Message.Range skips them).
 */
import { type DescField, type DescMessage, toJson } from '@bufbuild/protobuf';
import { type ReflectMessage, reflect } from '@bufbuild/protobuf/reflect';

type Doc = Record<string, unknown>;

/** A scalar or enum value as Go's protoreflect Value.Interface() lands in OPA: numbers, strings, booleans. */
function scalar(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  return v;
}

function value(v: unknown): unknown {
  return typeof v === 'object' && v !== null && 'desc' in v && 'fields' in v
    ? mapMessage(v as ReflectMessage)
    : scalar(v);
}

function field(r: ReflectMessage, f: DescField): unknown {
  const v = r.get(f) as unknown;
  switch (f.fieldKind) {
    case 'message':
      return mapMessage(v as ReflectMessage);
    case 'list':
      return Array.from(v as Iterable<unknown>, value);
    case 'map': {
      const out: Doc = {};
      for (const [k, mv] of v as Iterable<[unknown, unknown]>) out[String(k)] = value(mv);
      return out;
    }
    default:
      return scalar(v);
  }
}

function mapMessage(r: ReflectMessage): Doc {
  if (r.desc.typeName === 'google.protobuf.Struct') return toJson(r.desc as DescMessage, r.message) as Doc;
  const out: Doc = {};
  for (const f of r.fields) if (r.isSet(f)) out[f.jsonName] = field(r, f);
  return out;
}

/** opa-envoy-plugin's protomap(msg) for message `msg` of type `schema`. */
export function protomap(schema: DescMessage, msg: Parameters<typeof reflect>[1]): Doc {
  return mapMessage(reflect(schema, msg));
}
