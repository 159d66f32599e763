/**
 * The reference codec for the protobuf-es code in gen/: protobufjs (https://github.com/protobufjs/protobuf.js)
 * loading the same .proto files. Tests only: src/ uses the generated code alone.
 */
import { join } from 'node:path';
import protobuf from 'protobufjs';

const PROTO = join(import.meta.dirname, '..', '..', 'proto');

const root = new protobuf.Root();
// Well-known types come from protobufjs' bundled copies, everything else from proto/.
root.resolvePath = (_origin, target) =>
  target.startsWith('google/protobuf/') ? target : join(PROTO, target);
root.loadSync(['envoy/service/auth/v3/external_auth.proto', 'grpc/health/v1/health.proto']);

/** protobufjs' CheckRequest type. */
export const RefCheckRequest = root.lookupType('envoy.service.auth.v3.CheckRequest');
/** protobufjs' CheckResponse type. */
export const RefCheckResponse = root.lookupType('envoy.service.auth.v3.CheckResponse');

/**
 * protobufjs' decode of `bytes` in its JSON-ready object form: int64 and enums as strings, bytes base64, every
 * implicit-presence field with its default (absent sub-messages left out), so it compares with protobuf-es'
 * `toJson(…, { alwaysEmitImplicit: true })`.
 */
export function refObject(type: protobuf.Type, bytes: Uint8Array): unknown {
  const o = type.toObject(type.decode(bytes), {
    longs: String,
    enums: String,
    bytes: String,
    json: true,
    defaults: true,
  });
  return JSON.parse(JSON.stringify(o, (_k, v: unknown) => (v === null ? undefined : v)));
}

/** A JSON value as protobufjs' google.protobuf.Value object form (it has no JSON mapping for Struct). */
export function refValue(v: unknown): Record<string, unknown> {
  if (v === null) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(refValue) } };
  return { structValue: refStruct(v as Record<string, unknown>) };
}

/** A JSON object as protobufjs' google.protobuf.Struct object form. */
export function refStruct(o: Record<string, unknown>): Record<string, unknown> {
  return { fields: Object.fromEntries(Object.entries(o).map(([k, v]) => [k, refValue(v)])) };
}
