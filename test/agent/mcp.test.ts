/**
 * The MCP adapter with the official MCP SDK on both ends, through a real Envoy + SIGIL: the client's only
 * SIGIL-specific code is the transport's fetch option; the server's tool handler reads the verified identity.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentError, loadAgentKey, readDenial, SigilAgent, SigilDeniedError } from '../../src/agent/index.js';
import { sigilIdentity, sigilTransport } from '../../src/agent/mcp.js';
import { type MeshNode, startMeshNode } from '../../src/demo/mesh-node.js';
import { createProof, PROOF_HEADER } from '../../src/token/index.js';

const AGENT = 'spiffe://sigil.mesh/agent/mcp-client';
const TOOLS = 'spiffe://sigil.mesh/agent/tools';
const OPERATOR = 'mcp-test-operator-credential-0123456789';

let root: string;
let node: MeshNode;
let agent: SigilAgent;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'sigil-mcp-test-'));
  node = await startMeshNode({
    name: 'tools',
    spiffeId: TOOLS,
    root,
    issuerId: 'spiffe://sigil.mesh/sigil/issuer',
    operatorToken: OPERATOR,
    refreshInterval: 1,
    revocations: join(root, 'revocations.json'),
    tools: [
      { name: 'echo.say', description: 'echo', run: (t, c) => `${t} from ${c.sub} in ${c.taskId}` },
      { name: 'shell.exec', description: 'dangerous', run: () => 'ran' },
    ],
  });
  agent = SigilAgent.open({
    spiffeId: AGENT,
    keyDir: join(root, 'keys'),
    issuerUrl: node.issuerUrl,
    operatorToken: OPERATOR,
  });
  await agent.startTask({ taskId: 'mcp-task', toolScope: ['echo.*'], ttl: 120 });
}, 60_000);
afterAll(async () => {
  await node?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('MCP through Envoy + SIGIL', () => {
  it('a client with fetch: agent.fetch lists and calls tools; the server sees the verified caller', async () => {
    // Exactly what an MCP user writes: the stock transport, one extra option.
    const client = new Client({ name: 'test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(node.mcpUrl), { fetch: agent.fetch }));
    try {
      const listed = await client.listTools();
      expect(listed.tools.map((t) => t.name).sort()).toEqual(['echo.say', 'shell.exec']);
      const before = node.server.calls.length;
      const r = await client.callTool({ name: 'echo.say', arguments: { text: 'hi' } });
      expect(r.content).toEqual([{ type: 'text', text: `hi from ${AGENT} in mcp-task` }]);
      const seen = node.server.calls[before]!.caller;
      expect(seen).toMatchObject({ sub: AGENT, taskId: 'mcp-task', depth: 1, tools: ['echo.say'] });
      expect(seen.decisionId).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await client.close();
    }
  });

  it('an out-of-scope tools/call rejects with SigilDeniedError; the tool never runs', async () => {
    const client = new Client({ name: 'test', version: '1.0.0' });
    await client.connect(sigilTransport(agent, node.mcpUrl));
    try {
      const before = node.server.calls.length;
      const err = await client.callTool({ name: 'shell.exec', arguments: {} }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SigilDeniedError);
      expect(err).toMatchObject({ code: 'AUTHZ_TOOL_NOT_IN_SCOPE', status: 403 });
      expect((err as SigilDeniedError).decisionId).toMatch(/^[0-9a-f-]{36}$/);
      expect(node.server.calls.length).toBe(before);
    } finally {
      await client.close();
    }
  });

  it('without the agent fetch the call is refused (no token), and spoofed identity headers never arrive', async () => {
    const client = new Client({ name: 'test', version: '1.0.0' });
    const bare = new StreamableHTTPClientTransport(new URL(node.mcpUrl), {
      requestInit: { headers: { 'x-sigil-sub': 'spiffe://sigil.mesh/agent/admin' } },
    });
    const err = await client.connect(bare).catch((e: unknown) => e);
    expect(String(err)).toMatch(/"code":"AUTHZ_NO_TOKEN"/);
    // With a token, a client-sent x-sigil-sub is replaced by the verified one.
    const spoofing = new Client({ name: 'test', version: '1.0.0' });
    await spoofing.connect(
      sigilTransport(agent, node.mcpUrl, {
        requestInit: { headers: { 'x-sigil-sub': 'spiffe://sigil.mesh/agent/admin', 'x-sigil-depth': '0' } },
      }),
    );
    try {
      const before = node.server.calls.length;
      await spoofing.callTool({ name: 'echo.say', arguments: { text: 'x' } });
      expect(node.server.calls[before]!.caller).toMatchObject({ sub: AGENT, depth: 1 });
    } finally {
      await spoofing.close();
    }
  });
});

describe('what a proof binds, through Envoy + SIGIL', () => {
  const rpc = (text: string) =>
    JSON.stringify({
      jsonrpc: '2.0',
      id: 7,
      method: 'tools/call',
      params: { name: 'echo.say', arguments: { text } },
    });
  const headers = (token: string, proof?: string) => ({
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    authorization: `Bearer ${token}`,
    ...(proof !== undefined ? { [PROOF_HEADER]: proof } : {}),
  });
  const codeOf = async (res: Response) => (await readDenial(res))?.code ?? `HTTP_${res.status}`;

  it('a request captured off the wire is refused when sent again (AUTHZ_PROOF_REPLAYED)', async () => {
    const wire: Array<{ url: string; init: RequestInit }> = [];
    const recorded = SigilAgent.open({
      spiffeId: AGENT,
      keyDir: join(root, 'keys'),
      fetch: (i, n) => {
        wire.push({ url: String(i), init: n ?? {} });
        return fetch(i, n);
      },
    });
    recorded.acceptToken(await agent.token());
    const first = await recorded.fetch(node.mcpUrl, {
      method: 'POST',
      headers: headers('x'),
      body: rpc('once'),
    });
    expect(first.status).toBe(200);
    const before = node.server.calls.length;
    const again = await fetch(wire[0]!.url, wire[0]!.init);
    expect(await codeOf(again)).toBe('AUTHZ_PROOF_REPLAYED');
    expect(node.server.calls.length).toBe(before);
  });

  it('a proof for one tools/call does not cover another body; a token alone is refused', async () => {
    const token = await agent.token();
    const key = loadAgentKey(join(root, 'keys'), AGENT);
    const proof = createProof({
      token,
      holderPrivateKey: key.privateKey,
      method: 'POST',
      url: node.mcpUrl,
      body: rpc('harmless'),
    });
    const swapped = await fetch(node.mcpUrl, {
      method: 'POST',
      headers: headers(token, proof),
      body: rpc('other'),
    });
    expect(await codeOf(swapped)).toBe('AUTHZ_PROOF_MISMATCH');
    const bare = await fetch(node.mcpUrl, { method: 'POST', headers: headers(token), body: rpc('bare') });
    expect(await codeOf(bare)).toBe('AUTHZ_PROOF_MISSING');
  });
});

describe('sigilIdentity', () => {
  it('fails closed without SIGIL headers or with a repeated one (AGENT_NO_IDENTITY)', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as AgentError).code;
      }
      return 'none';
    };
    expect(code(() => sigilIdentity({}))).toBe('AGENT_NO_IDENTITY');
    expect(code(() => sigilIdentity({ requestInfo: { headers: { 'x-sigil-sub': AGENT } } }))).toBe(
      'AGENT_NO_IDENTITY',
    );
    const twice = { 'x-sigil-sub': [AGENT, AGENT], 'x-sigil-task-id': 't' };
    expect(code(() => sigilIdentity({ requestInfo: { headers: twice } }))).toBe('AGENT_NO_IDENTITY');
    expect(
      sigilIdentity({
        requestInfo: { headers: { 'x-sigil-sub': AGENT, 'x-sigil-task-id': 't', 'x-sigil-tool': 'a,b' } },
      }),
    ).toEqual({ sub: AGENT, taskId: 't', depth: 0, tools: ['a', 'b'], decisionId: undefined });
    expect(new AgentError('AGENT_NO_IDENTITY', 'x')).toBeInstanceOf(Error);
  });
});
