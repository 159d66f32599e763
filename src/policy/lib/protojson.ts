/**
 * Converts a message decoded by @grpc/proto-loader into its canonical protobuf JSON form ("ProtoJSON",
 * https://protobuf.dev/programming-guides/json/), which is what opa-envoy-plugin feeds OPA (`protojson.Marshal`).
 *
 * The walk is driven by the descriptors proto-loader already holds, so it needs no hand-kept list of fields:
 * - oneof discriminator properties that `oneofs: true` adds (e.g. `Address.address = "socketAddress"`) are dropped;
 * - bytes → standard base64; 64-bit integers → decimal strings; float NaN/±Infinity → "NaN"/"Infinity"/"-Infinity";
 * - zero values of implicit-presence scalars and empty repeated/map fields are omitted (protojson default);
 * - well-known types: Timestamp → RFC 3339 (0/3/6/9 fraction digits, "Z"), Duration → "1.5s", Struct/Value/ListValue
 *   → plain JSON, wrappers → their value, Any → {"@type", "value": base64} (the packed type is not resolved).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSync } from '@grpc/proto-loader';

interface FieldDescriptor {
  name: string;
  label: string;
  type: string;
  typeName: string;
  proto3Optional?: boolean;
}

interface MessageDescriptor {
  name: string;
  field: FieldDescriptor[];
  nestedType: MessageDescriptor[];
  oneofDecl: { name: string }[];
  options: { mapEntry?: boolean } | null;
}

/** Message descriptors by fully-qualified name (no leading dot). */
export interface ProtoSchema {
  readonly messages: ReadonlyMap<string, MessageDescriptor>;
}

function isMessageDescriptor(v: unknown): v is MessageDescriptor {
  return typeof v === 'object' && v !== null && Array.isArray((v as MessageDescriptor).field);
}

/** Indexes every message (nested ones too) of a proto-loader package definition. */
export function schemaFromPackageDefinition(def: Record<string, unknown>): ProtoSchema {
  const messages = new Map<string, MessageDescriptor>();
  const add = (fqn: string, d: MessageDescriptor) => {
    messages.set(fqn, d);
    for (const n of d.nestedType ?? []) add(`${fqn}.${n.name}`, n);
  };
  for (const [name, entry] of Object.entries(def)) {
    const t = (entry as { type?: unknown }).type;
    if (isMessageDescriptor(t)) add(name, t);
  }
  return { messages };
}

/** Finds the repository's `proto/` folder (src/policy/lib → ../../../proto; dist adds one more level). */
function findProtoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'proto');
    if (existsSync(join(candidate, 'envoy/service/auth/v3/external_auth.proto'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error('proto/envoy/service/auth/v3/external_auth.proto not found above src/policy');
}

let cached: ProtoSchema | undefined;

/** Schema of envoy.service.auth.v3.CheckRequest from the repository's protos, loaded once. */
export function checkRequestSchema(): ProtoSchema {
  if (!cached) {
    const def = loadSync('envoy/service/auth/v3/external_auth.proto', {
      includeDirs: [findProtoRoot()],
      keepCase: false,
      longs: String,
      enums: String,
      oneofs: true,
      defaults: false,
    });
    cached = schemaFromPackageDefinition(def as unknown as Record<string, unknown>);
  }
  return cached;
}

const resolved = new WeakMap<ProtoSchema, Map<string, string | undefined>>();

/** Protobuf name resolution: innermost scope outwards (protobuf language spec §"Packages and Name Resolution"). Memoized: it runs per field per request. */
function resolve(schema: ProtoSchema, scope: string, typeName: string): string | undefined {
  let cache = resolved.get(schema);
  if (!cache) {
    cache = new Map();
    resolved.set(schema, cache);
  }
  const key = `${scope}\0${typeName}`;
  if (cache.has(key)) return cache.get(key);
  const r = resolveUncached(schema, scope, typeName);
  cache.set(key, r);
  return r;
}

function resolveUncached(schema: ProtoSchema, scope: string, typeName: string): string | undefined {
  if (typeName.startsWith('.')) return schema.messages.has(typeName.slice(1)) ? typeName.slice(1) : undefined;
  let s = scope;
  for (;;) {
    const candidate = s ? `${s}.${typeName}` : typeName;
    if (schema.messages.has(candidate)) return candidate;
    if (!s) return undefined;
    const i = s.lastIndexOf('.');
    s = i === -1 ? '' : s.slice(0, i);
  }
}

const INT64 = new Set(['TYPE_INT64', 'TYPE_UINT64', 'TYPE_SINT64', 'TYPE_FIXED64', 'TYPE_SFIXED64']);

function toBase64(v: unknown): string {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (typeof v === 'string') return v; // proto-loader with bytes: String already gives base64
  return '';
}

function scalar(type: string, v: unknown): unknown {
  if (type === 'TYPE_BYTES') return toBase64(v);
  if (INT64.has(type)) return String(v);
  if ((type === 'TYPE_DOUBLE' || type === 'TYPE_FLOAT') && typeof v === 'number' && !Number.isFinite(v)) {
    return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  }
  return v;
}

function isZero(type: string, v: unknown): boolean {
  if (type === 'TYPE_BYTES') return (v instanceof Uint8Array && v.length === 0) || v === '';
  return v === '' || v === 0 || v === false || v === '0' || (type === 'TYPE_ENUM' && v === 0);
}

/** RFC 3339 with the fraction protojson uses: none, 3, 6 or 9 digits; always UTC "Z". */
export function timestampToRfc3339(seconds: unknown, nanos: unknown): string {
  const s = BigInt(typeof seconds === 'string' || typeof seconds === 'number' ? seconds : 0);
  const n = typeof nanos === 'number' ? nanos : 0;
  const iso = new Date(Number(s) * 1000).toISOString().slice(0, 19);
  if (n === 0) return `${iso}Z`;
  let frac = String(n).padStart(9, '0');
  if (frac.endsWith('000000')) frac = frac.slice(0, 3);
  else if (frac.endsWith('000')) frac = frac.slice(0, 6);
  return `${iso}.${frac}Z`;
}

function durationToJson(seconds: unknown, nanos: unknown): string {
  const s = BigInt(typeof seconds === 'string' || typeof seconds === 'number' ? seconds : 0);
  const n = typeof nanos === 'number' ? nanos : 0;
  if (n === 0) return `${s}s`;
  const neg = s < 0n || n < 0;
  const abs = (s < 0n ? -s : s).toString();
  let frac = String(Math.abs(n)).padStart(9, '0');
  if (frac.endsWith('000000')) frac = frac.slice(0, 3);
  else if (frac.endsWith('000')) frac = frac.slice(0, 6);
  return `${neg ? '-' : ''}${abs}.${frac}s`;
}

function valueToJson(v: Record<string, unknown>): unknown {
  if ('nullValue' in v) return null;
  if ('numberValue' in v) return v.numberValue;
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('structValue' in v) return structToJson(v.structValue as Record<string, unknown>);
  if ('listValue' in v) return listToJson(v.listValue as Record<string, unknown>);
  return null;
}

function structToJson(s: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries((s?.fields as Record<string, unknown>) ?? {})) {
    out[k] = valueToJson(v as Record<string, unknown>);
  }
  return out;
}

function listToJson(l: Record<string, unknown> | undefined): unknown[] {
  return ((l?.values as unknown[]) ?? []).map((v) => valueToJson(v as Record<string, unknown>));
}

function wellKnown(fqn: string, v: Record<string, unknown>): { json: unknown } | undefined {
  switch (fqn) {
    case 'google.protobuf.Timestamp':
      return { json: timestampToRfc3339(v.seconds, v.nanos) };
    case 'google.protobuf.Duration':
      return { json: durationToJson(v.seconds, v.nanos) };
    case 'google.protobuf.Struct':
      return { json: structToJson(v) };
    case 'google.protobuf.Value':
      return { json: valueToJson(v) };
    case 'google.protobuf.ListValue':
      return { json: listToJson(v) };
    case 'google.protobuf.Any':
      return { json: { '@type': v.typeUrl ?? '', value: toBase64(v.value) } };
    case 'google.protobuf.BytesValue':
      return { json: toBase64(v.value) };
    case 'google.protobuf.Int64Value':
    case 'google.protobuf.UInt64Value':
      return { json: String(v.value ?? '0') };
    case 'google.protobuf.BoolValue':
      return { json: v.value ?? false };
    case 'google.protobuf.StringValue':
      return { json: v.value ?? '' };
    case 'google.protobuf.DoubleValue':
    case 'google.protobuf.FloatValue':
    case 'google.protobuf.Int32Value':
    case 'google.protobuf.UInt32Value':
      return { json: v.value ?? 0 };
    default:
      return undefined;
  }
}

/** One field with its types resolved once per schema (the conversion runs on every Check). */
interface FieldPlan {
  name: string;
  type: string;
  repeated: boolean;
  optional: boolean;
  /** Message type of the field (or of a map's value), resolved. */
  msgType: string | undefined;
  /** Map field: scalar type of the value when it is not a message. */
  mapValueType: string | undefined;
  isMap: boolean;
}

interface MessagePlan {
  fields: FieldPlan[];
  oneofs: string[];
}

const plans = new WeakMap<ProtoSchema, Map<string, MessagePlan | null>>();

function planFor(schema: ProtoSchema, fqn: string): MessagePlan | null {
  let cache = plans.get(schema);
  if (!cache) {
    cache = new Map();
    plans.set(schema, cache);
  }
  const hit = cache.get(fqn);
  if (hit !== undefined) return hit;
  const desc = schema.messages.get(fqn);
  let plan: MessagePlan | null = null;
  if (desc) {
    plan = {
      oneofs: (desc.oneofDecl ?? []).map((o) => o.name),
      fields: desc.field.map((f) => {
        const msgType = f.type === 'TYPE_MESSAGE' ? resolve(schema, fqn, f.typeName) : undefined;
        const entry = msgType ? schema.messages.get(msgType) : undefined;
        const isMap = entry?.options?.mapEntry === true;
        const valueField = isMap ? entry!.field.find((x) => x.name === 'value') : undefined;
        const valueMsg =
          valueField?.type === 'TYPE_MESSAGE' ? resolve(schema, msgType!, valueField.typeName) : undefined;
        return {
          name: f.name,
          type: f.type,
          repeated: f.label === 'LABEL_REPEATED',
          optional: f.proto3Optional === true,
          msgType: isMap ? valueMsg : msgType,
          mapValueType: isMap && !valueMsg ? valueField?.type : undefined,
          isMap,
        };
      }),
    };
  }
  cache.set(fqn, plan);
  return plan;
}

/** Converts `value` (a decoded message of type `fqn`) to ProtoJSON. Unknown properties are dropped. */
export function toProtoJson(schema: ProtoSchema, fqn: string, value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return {};
  const obj = value as Record<string, unknown>;
  const wk = wellKnown(fqn, obj);
  if (wk) return wk.json;
  const plan = planFor(schema, fqn);
  if (!plan) return {};
  const out: Record<string, unknown> = {};
  // proto-loader's descriptors do not keep oneofIndex (always 0), but with `oneofs: true` each set oneof names its
  // member: that member keeps explicit presence (a zero value is still emitted); the discriminator is never a field.
  let oneofMembers: Set<unknown> | undefined;
  if (plan.oneofs.length > 0)
    oneofMembers = new Set(plan.oneofs.map((n) => obj[n]).filter((x) => typeof x === 'string'));
  for (const f of plan.fields) {
    const v = obj[f.name];
    if (v === undefined || v === null) continue;
    if (f.isMap) {
      // Map: proto-loader gives a plain object; convert each value by the entry's `value` field type.
      if (typeof v !== 'object') continue;
      const m: Record<string, unknown> = {};
      let any = false;
      for (const k in v as Record<string, unknown>) {
        if (!Object.hasOwn(v, k)) continue;
        const x = (v as Record<string, unknown>)[k];
        m[k] = f.msgType ? toProtoJson(schema, f.msgType, x) : scalar(f.mapValueType ?? 'TYPE_STRING', x);
        any = true;
      }
      if (any) out[f.name] = m;
    } else if (f.repeated) {
      if (!Array.isArray(v) || v.length === 0) continue;
      out[f.name] = v.map((x) => (f.msgType ? toProtoJson(schema, f.msgType, x) : scalar(f.type, x)));
    } else if (f.msgType) {
      out[f.name] = toProtoJson(schema, f.msgType, v);
    } else {
      if (!oneofMembers?.has(f.name) && !f.optional && isZero(f.type, v)) continue;
      out[f.name] = scalar(f.type, v);
    }
  }
  return out;
}
