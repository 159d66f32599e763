/**
 * A small MCP tool server built with the official MCP SDK (Streamable HTTP, stateless, JSON responses) for the
 * mesh demo: each tool handler reads the caller SIGIL verified (`sigilIdentity`) and may call other agents.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import { type SigilIdentity, sigilIdentity } from '../agent/mcp.js';

/** One tool: `run` gets the `text` argument and the verified caller, and returns the text result. */
export interface MeshTool {
  name: string;
  description: string;
  run(text: string, caller: SigilIdentity): Promise<string> | string;
}

/** A running tool server. */
export interface McpToolServer {
  port: number;
  /** Every call that reached a handler, with the identity SIGIL vouched for. */
  calls: Array<{ tool: string; caller: SigilIdentity }>;
  close(): Promise<void>;
}

/** Starts an MCP server with `tools` on a free loopback port (path `/mcp`). */
export async function startMcpToolServer(name: string, tools: MeshTool[]): Promise<McpToolServer> {
  const calls: McpToolServer['calls'] = [];
  const server = createServer((req, res) => {
    // Stateless mode: one MCP server and transport per HTTP request (SDK docs, "stateless").
    const mcp = new McpServer({ name, version: '1.0.0' });
    for (const t of tools) {
      mcp.registerTool(
        t.name,
        { description: t.description, inputSchema: { text: z.string().default('') } },
        async ({ text }, extra) => {
          const caller = sigilIdentity(extra);
          calls.push({ tool: t.name, caller });
          return { content: [{ type: 'text', text: await t.run(text, caller) }] };
        },
      );
    }
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    res.on('close', () => {
      void transport.close();
      void mcp.close();
    });
    void mcp
      .connect(transport)
      .then(() => transport.handleRequest(req, res))
      .catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
      });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    calls,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
