/**
 * The MCP adapter (docs/agent-sdk.md §MCP), for the official TypeScript SDK (`@modelcontextprotocol/sdk`, an
 * optional peer dependency: import `sigil/agent/mcp` only where MCP is used).
 *
 * Client side: the Streamable HTTP transport accepts a `fetch` option; `agent.fetch` as that option is all an
 * MCP client needs for every `tools/call` to carry the token and a proof bound to that exact body.
 * Server side: behind Envoy + SIGIL, an allowed request reaches the server with SIGIL's verified identity
 * headers (docs/authz.md §6); {@link sigilIdentity} reads them in a tool handler.
 */
import {
  StreamableHTTPClientTransport,
  type StreamableHTTPClientTransportOptions,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { RequestInfo } from '@modelcontextprotocol/sdk/types.js';
import type { SigilAgent } from './agent.js';
import { AgentError } from './errors.js';

/** A Streamable HTTP client transport whose every request goes through `agent.fetch`. */
export function sigilTransport(
  agent: SigilAgent,
  url: string | URL,
  options: Omit<StreamableHTTPClientTransportOptions, 'fetch'> = {},
): StreamableHTTPClientTransport {
  return new StreamableHTTPClientTransport(new URL(url), { ...options, fetch: agent.fetch });
}

/** The caller as SIGIL verified it (docs/authz.md §6 "Allow"). */
export interface SigilIdentity {
  /** The leaf holder's SPIFFE ID (`x-sigil-sub`). */
  sub: string;
  /** `x-sigil-task-id`. */
  taskId: string;
  /** Chain depth, root = 1 (`x-sigil-depth`). */
  depth: number;
  /** The tool(s) SIGIL authorized for this request (`x-sigil-tool`). */
  tools: string[];
  /** `x-sigil-decision-id`: the ledger entry of this decision. */
  decisionId: string | undefined;
}

/** One header value; a repeated header is refused (SIGIL overwrites these, so two means someone else set one). */
function one(h: RequestInfo['headers'], name: string): string | undefined {
  const v = h[name];
  if (Array.isArray(v)) throw new AgentError('AGENT_NO_IDENTITY', `${name} is repeated`);
  return v === undefined || v === '' ? undefined : v;
}

/**
 * The verified caller of the current MCP request, from the handler's `extra` (its `requestInfo.headers`).
 * Trust it only when the server is reachable through Envoy + SIGIL alone (SIGIL removes client-sent
 * `x-sigil-*` headers, but a server also listening elsewhere gets whatever a caller sends).
 */
export function sigilIdentity(extra: { requestInfo?: RequestInfo }): SigilIdentity {
  const h = extra.requestInfo?.headers ?? {};
  const sub = one(h, 'x-sigil-sub');
  const taskId = one(h, 'x-sigil-task-id');
  if (sub === undefined || taskId === undefined) {
    throw new AgentError(
      'AGENT_NO_IDENTITY',
      'no x-sigil-sub / x-sigil-task-id: is this server behind SIGIL?',
    );
  }
  const tool = one(h, 'x-sigil-tool');
  return {
    sub,
    taskId,
    depth: Number(one(h, 'x-sigil-depth') ?? '0'),
    tools: tool === undefined ? [] : tool.split(','),
    decisionId: one(h, 'x-sigil-decision-id'),
  };
}
