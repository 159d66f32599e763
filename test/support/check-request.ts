/** Builds CheckRequest objects shaped exactly like proto-loader decodes Envoy's (src/authz/types.ts). */
import type { CheckRequest } from '../../src/authz/types.js';

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
  return {
    attributes: {
      source: {
        address: {
          socketAddress: { address: '127.0.0.1', portValue: 50000, portSpecifier: 'portValue' },
          address: 'socketAddress',
        },
        ...(p.principal ? { principal: p.principal } : {}),
      },
      destination: {
        address: { socketAddress: { address: '127.0.0.1', portValue: 8080 }, address: 'socketAddress' },
      },
      request: {
        time: { seconds: '1767225600', nanos: 0 },
        http: {
          id: 'req-1',
          method: p.method ?? 'POST',
          headers,
          path: p.path ?? '/mcp',
          host: p.host ?? 'agent.local',
          scheme: 'http',
          protocol: 'HTTP/1.1',
          ...(p.body !== undefined ? { body: p.body, size: String(Buffer.byteLength(p.body)) } : {}),
          ...(p.rawBody !== undefined ? { rawBody: p.rawBody } : {}),
        },
      },
    },
  };
}

/** A JSON-RPC 2.0 tools/call body (MCP). */
export function toolsCall(
  name: string,
  id = 1,
): { jsonrpc: '2.0'; id: number; method: 'tools/call'; params: { name: string; arguments: object } } {
  return { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {} } };
}
