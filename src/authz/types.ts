/**
 * TypeScript shapes of the ext_authz v3 messages exactly as @grpc/proto-loader decodes them with
 * {@link PROTO_LOADER_OPTIONS} (lowerCamelCase fields, int64 as string, enums as names, oneof names set,
 * absent fields left undefined). Every field is optional because Envoy — or an attacker talking gRPC
 * straight to us — may omit any of them; the pipeline validates before it trusts anything.
 */

/** envoy.config.core.v3.SocketAddress */
export interface SocketAddress {
  protocol?: 'TCP' | 'UDP';
  address?: string;
  portValue?: number;
  namedPort?: string;
  resolverName?: string;
  ipv4Compat?: boolean;
  networkNamespaceFilepath?: string;
  portSpecifier?: 'portValue' | 'namedPort';
}

/** envoy.config.core.v3.Pipe */
export interface Pipe {
  path?: string;
  mode?: number;
}

/** envoy.config.core.v3.Address (oneof `address`). */
export interface Address {
  socketAddress?: SocketAddress;
  pipe?: Pipe;
  envoyInternalAddress?: { serverListenerName?: string; endpointId?: string };
  address?: 'socketAddress' | 'pipe' | 'envoyInternalAddress';
}

/** envoy.config.core.v3.HeaderValue */
export interface HeaderValue {
  key?: string;
  value?: string;
  rawValue?: Uint8Array;
}

/** envoy.config.core.v3.HeaderValueOption.HeaderAppendAction */
export type HeaderAppendAction =
  | 'APPEND_IF_EXISTS_OR_ADD'
  | 'ADD_IF_ABSENT'
  | 'OVERWRITE_IF_EXISTS_OR_ADD'
  | 'OVERWRITE_IF_EXISTS';

/** envoy.config.core.v3.HeaderValueOption */
export interface HeaderValueOption {
  header: { key: string; value: string };
  appendAction?: HeaderAppendAction;
  keepEmptyValue?: boolean;
}

/** google.protobuf.Value in proto-loader object form (oneof `kind`). */
export interface ProtoValue {
  nullValue?: 'NULL_VALUE';
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: ProtoStruct;
  listValue?: { values?: ProtoValue[] };
  kind?: 'nullValue' | 'numberValue' | 'stringValue' | 'boolValue' | 'structValue' | 'listValue';
}

/** google.protobuf.Struct in proto-loader object form. */
export interface ProtoStruct {
  fields?: Record<string, ProtoValue>;
}

/** envoy.config.core.v3.Metadata */
export interface Metadata {
  filterMetadata?: Record<string, ProtoStruct>;
  typedFilterMetadata?: Record<string, { typeUrl?: string; value?: Uint8Array }>;
}

/** envoy.service.auth.v3.AttributeContext.Peer */
export interface Peer {
  address?: Address;
  service?: string;
  labels?: Record<string, string>;
  /** mTLS identity (e.g. the SPIFFE ID in the client certificate's URI SAN). */
  principal?: string;
  certificate?: string;
}

/** envoy.service.auth.v3.AttributeContext.HttpRequest */
export interface HttpRequest {
  id?: string;
  method?: string;
  headers?: Record<string, string>;
  headerMap?: { headers?: HeaderValue[] };
  path?: string;
  host?: string;
  scheme?: string;
  query?: string;
  fragment?: string;
  /** int64 decoded as a decimal string. */
  size?: string;
  protocol?: string;
  body?: string;
  rawBody?: Uint8Array;
}

/** envoy.service.auth.v3.AttributeContext */
export interface AttributeContext {
  source?: Peer;
  destination?: Peer;
  request?: { time?: { seconds?: string; nanos?: number }; http?: HttpRequest };
  contextExtensions?: Record<string, string>;
  metadataContext?: Metadata;
  routeMetadataContext?: Metadata;
  tlsSession?: { sni?: string };
}

/** envoy.service.auth.v3.CheckRequest */
export interface CheckRequest {
  attributes?: AttributeContext;
}

/** envoy.service.auth.v3.DeniedHttpResponse */
export interface DeniedHttpResponse {
  /** HTTP status: enum name or number (protobufjs accepts both when encoding). */
  status: { code: number | string };
  headers: HeaderValueOption[];
  body: string;
}

/** envoy.service.auth.v3.OkHttpResponse */
export interface OkHttpResponse {
  headers: HeaderValueOption[];
  headersToRemove: string[];
  responseHeadersToAdd: HeaderValueOption[];
}

/** envoy.service.auth.v3.CheckResponse */
export interface CheckResponse {
  status: { code: number; message: string };
  deniedResponse?: DeniedHttpResponse;
  okResponse?: OkHttpResponse;
  /** Set by proto-loader on decode (oneofs: true): which http_response member is present. */
  httpResponse?: 'deniedResponse' | 'okResponse';
  dynamicMetadata?: ProtoStruct;
}
