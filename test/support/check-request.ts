/** Builds CheckRequest messages (protobuf-es, gen/) like the ones Envoy sends. */
import { create } from '@bufbuild/protobuf';
import type { HeaderValueOption } from '../../gen/envoy/config/core/v3/base_pb.js';
import {
  type CheckRequest,
  CheckRequestSchema,
  type CheckResponse,
  type DeniedHttpResponse,
  type OkHttpResponse,
} from '../../gen/envoy/service/auth/v3/external_auth_pb.js';

/** Parts of a request; everything optional. */
export interface RequestParts {
  method?: string;
  path?: string;
  host?: string;
  headers?: Record<string, string>;
  body?: string;
  rawBody?: Uint8Array;
  principal?: string;
}

/** A CheckRequest for an HTTP request; `token` (when given) goes in `authorization: Bearer`. */
export function checkRequest(p: RequestParts = {}, token?: string): CheckRequest {
  const headers: Record<string, string> = {
    ':method': p.method ?? 'POST',
    ':path': p.path ?? '/mcp',
    ':authority': p.host ?? 'agent.local',
    ...(token ? { authorization: `Bearer ${token}` } : {}),
    ...p.headers,
  };
  const socket = (port: number) => ({
    case: 'socketAddress' as const,
    value: { address: '127.0.0.1', portSpecifier: { case: 'portValue' as const, value: port } },
  });
  return create(CheckRequestSchema, {
    attributes: {
      source: { address: { address: socket(50000) }, ...(p.principal ? { principal: p.principal } : {}) },
      destination: { address: { address: socket(8080) } },
      request: {
        time: { seconds: 1767225600n, nanos: 0 },
        http: {
          id: 'req-1',
          method: p.method ?? 'POST',
          headers,
          path: p.path ?? '/mcp',
          host: p.host ?? 'agent.local',
          scheme: 'http',
          protocol: 'HTTP/1.1',
          ...(p.body !== undefined ? { body: p.body, size: BigInt(Buffer.byteLength(p.body)) } : {}),
          ...(p.rawBody !== undefined ? { rawBody: p.rawBody } : {}),
        },
      },
    },
  });
}

/** A JSON-RPC 2.0 tools/call body (MCP). */
export function toolsCall(
  name: string,
  id = 1,
): { jsonrpc: '2.0'; id: number; method: 'tools/call'; params: { name: string; arguments: object } } {
  return { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {} } };
}

/** The OkHttpResponse of an allow, undefined for a deny. */
export function okOf(r: CheckResponse): OkHttpResponse | undefined {
  return r.httpResponse.case === 'okResponse' ? r.httpResponse.value : undefined;
}

/** The DeniedHttpResponse of a deny, undefined for an allow. */
export function deniedOf(r: CheckResponse): DeniedHttpResponse | undefined {
  return r.httpResponse.case === 'deniedResponse' ? r.httpResponse.value : undefined;
}

/** Header key → value of a list of HeaderValueOptions. */
export function headerRecord(list: HeaderValueOption[]): Record<string, string> {
  return Object.fromEntries(list.map((h) => [h.header!.key, h.header!.value]));
}
