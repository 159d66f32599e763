/**
 * `sigil demo --mesh`: three agents — an orchestrator and two MCP tool servers — each behind its own Envoy +
 * SIGIL on loopback, one trust bundle and one revocation list (the orchestrator's issuer). The orchestrator
 * gets a root token through the agent SDK, delegates narrowed scopes, and the agents call each other's tools
 * over MCP with token + proof; then stolen and replayed requests are tried, and the task is revoked and
 * watched being refused on every sidecar (docs/agent-sdk.md §Mesh demo).
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { readDenial, SigilAgent, SigilDeniedError } from '../agent/index.js';
import { sigilTransport } from '../agent/mcp.js';
import { createProof, PROOF_HEADER } from '../token/index.js';
import { type MeshNode, startMeshNode } from './mesh-node.js';
import { DemoError } from './run-demo.js';

const TD = 'spiffe://sigil.mesh';
const ORCH = `${TD}/agent/orchestrator`;
const FILES = `${TD}/agent/files`;
const SEARCH = `${TD}/agent/search`;
const TASK = 'mesh-task-1';
const OPERATOR = 'mesh-demo-operator-credential-0123456789';
/** How often the tool sidecars re-read the shared bundle (`validator.refresh_interval`, s). */
export const MESH_REFRESH_S = 1;
/**
 * The documented bound for a revocation to reach every sidecar sharing the list file: fs.watch, else the 1 s
 * stat poll (docs/keys.md §Revocation), plus the time to answer; the demo fails past it.
 */
export const REVOCATION_BOUND_MS = 2000;

/** One call of the mesh demo. */
export interface MeshRow {
  step: string;
  caller: string;
  sidecar: string;
  tool: string;
  /** `allow` or the deny code the step must get. */
  expect: string;
  /** `allow` or the deny code it got. */
  got: string;
  decisionId: string;
  /** What the tool server saw (`sub@depth`), for allowed calls. */
  seen: string;
}

/** What the mesh demo did. */
export interface MeshResult {
  rows: MeshRow[];
  /** Per sidecar, ms from the revocation until it refused the task. */
  revocation: { refreshIntervalS: number; sidecars: Array<{ sidecar: string; ms: number }> };
}

/** Options of {@link runMesh}. */
export interface MeshOptions {
  keep?: boolean;
  /** Print the report (default true). */
  print?: boolean;
}

type Call = (tool: string, text?: string) => Promise<{ text: string }>;

/** An MCP client of `agent` for `node`'s tools: the agent's fetch is its only SIGIL-specific option. */
async function mcpClient(agent: SigilAgent, node: MeshNode): Promise<{ call: Call; close(): Promise<void> }> {
  const client = new Client({ name: agent.spiffeId, version: '1.0.0' });
  await client.connect(sigilTransport(agent, node.mcpUrl));
  return {
    call: async (tool, text = '') => {
      const r = await client.callTool({ name: tool, arguments: { text } });
      const content = r.content as Array<{ type: string; text?: string }>;
      return { text: content.map((c) => c.text ?? '').join('') };
    },
    close: () => client.close(),
  };
}

/** Runs the mesh demo end to end; throws DemoError when a step does not behave as documented. */
export async function runMesh(o: MeshOptions = {}): Promise<MeshResult> {
  const out = (s: string) => {
    if (o.print !== false) process.stdout.write(s);
  };
  const root = mkdtempSync(join(tmpdir(), 'sigil-mesh-'));
  const stops: Array<() => Promise<void> | void> = [];
  try {
    const issuerOf = (n: string) => `${TD}/sigil/issuer/${n}`;
    // The one revocation list: every sidecar's local list is this file (locked, atomically replaced, watched).
    const revocations = join(root, 'revocations.json');
    const orchNode = await startMeshNode({
      name: 'orchestrator',
      spiffeId: ORCH,
      root,
      issuerId: issuerOf('orchestrator'),
      operatorToken: OPERATOR,
      refreshInterval: MESH_REFRESH_S,
      revocations,
      tools: [
        {
          name: 'report.submit',
          description: 'record a result',
          run: (t, c) => `recorded "${t}" from ${c.sub}`,
        },
      ],
    });
    stops.push(() => orchNode.close());
    // The one trust bundle: the orchestrator issuer's JWKS.
    const bundle = join(root, 'bundle.json');
    writeFileSync(bundle, JSON.stringify(orchNode.sigil.issuer.service.jwks()));
    const trust = { bundle, issuer: issuerOf('orchestrator') };

    const keyDir = (n: string) => join(root, 'agent-keys', n);
    // What the orchestrator put on the wire, as an eavesdropper (a proxy, a log) would capture it.
    const wire: Array<{ url: string; init: RequestInit }> = [];
    const orch = SigilAgent.open({
      spiffeId: ORCH,
      keyDir: keyDir('orchestrator'),
      issuerUrl: orchNode.issuerUrl,
      operatorToken: OPERATOR,
      fetch: (input, init) => {
        wire.push({ url: String(input), init: init ?? {} });
        return fetch(input, init);
      },
    });
    const files = SigilAgent.open({ spiffeId: FILES, keyDir: keyDir('files') });
    const search = SigilAgent.open({ spiffeId: SEARCH, keyDir: keyDir('search') });

    let searchNode: MeshNode | undefined;
    const filesNode = await startMeshNode({
      name: 'files',
      spiffeId: FILES,
      root,
      issuerId: issuerOf('files'),
      trust,
      refreshInterval: MESH_REFRESH_S,
      revocations,
      tools: [
        { name: 'files.read', description: 'read a file', run: (t) => `contents of ${t}` },
        {
          name: 'files.summarize',
          description: 'summarise, with a web search by the search agent',
          // The files agent calls the search agent with ITS delegated token and key.
          run: async (t) => {
            const c = await mcpClient(files, searchNode!);
            try {
              return `summary of ${t} using [${(await c.call('search.web', t)).text}]`;
            } finally {
              await c.close();
            }
          },
        },
      ],
    });
    stops.push(() => filesNode.close());
    searchNode = await startMeshNode({
      name: 'search',
      spiffeId: SEARCH,
      root,
      issuerId: issuerOf('search'),
      trust,
      refreshInterval: MESH_REFRESH_S,
      revocations,
      tools: [
        {
          name: 'search.web',
          description: 'web search',
          run: (t, c) => `results for ${t} (asked by ${c.sub})`,
        },
        { name: 'search.deep', description: 'expensive search', run: (t) => `deep results for ${t}` },
      ],
    });
    stops.push(() => searchNode!.close());
    const nodes = { orchestrator: orchNode, files: filesNode, search: searchNode };

    // Root token through the orchestrator's local issuer endpoint, bound to the orchestrator's own key.
    await orch.startTask({ taskId: TASK, toolScope: ['files.*', 'search.*', 'report.submit'], ttl: 300 });
    const give = (agent: SigilAgent, toolScope: string[]) => () =>
      orch.delegate({ to: agent.spiffeId, toKey: agent.publicJwk, toolScope, ttl: 120 });
    const forFiles = give(files, ['search.web', 'report.submit']);
    const forSearch = give(search, ['report.submit']);
    files.acceptToken(await forFiles(), forFiles);
    search.acceptToken(await forSearch(), forSearch);

    out(`SIGIL mesh demo — three agents, each behind its own Envoy + SIGIL (task ${TASK})\n`);
    for (const n of Object.values(nodes)) out(`  ${n.name.padEnd(12)} ${n.spiffeId}  MCP ${n.mcpUrl}\n`);
    out(
      `  orchestrator root scope: files.*, search.*, report.submit (minted via ${orchNode.issuerUrl}/v1/mint)\n`,
    );
    out('  → files  agent: search.web, report.submit (120 s)   → search agent: report.submit (120 s)\n\n');

    const rows: MeshRow[] = [];
    const agents = { orchestrator: orch, files, search };
    const clients = new Map<string, Awaited<ReturnType<typeof mcpClient>>>();
    const clientOf = async (caller: keyof typeof agents, sidecar: keyof typeof nodes) => {
      const k = `${caller}>${sidecar}`;
      let c = clients.get(k);
      if (!c) {
        c = await mcpClient(agents[caller], nodes[sidecar]);
        clients.set(k, c);
      }
      return c;
    };
    stops.push(async () => {
      for (const c of clients.values()) await c.close().catch(() => undefined);
    });

    const attempt = async (
      step: string,
      caller: keyof typeof agents,
      sidecar: keyof typeof nodes,
      tool: string,
      expect: string,
    ) => {
      const server = nodes[sidecar].server;
      const before = server.calls.length;
      let got = 'allow';
      let decisionId = '-';
      let seen = '-';
      try {
        await (await clientOf(caller, sidecar)).call(tool, step);
        const c = server.calls[before];
        if (c) {
          seen = `${c.caller.sub.split('/').at(-1)}@${c.caller.depth}`;
          decisionId = c.caller.decisionId ?? '-';
        }
      } catch (e) {
        if (!(e instanceof SigilDeniedError)) throw e;
        got = e.code;
        decisionId = e.decisionId ?? '-';
      }
      const row = { step, caller, sidecar, tool, expect, got, decisionId, seen };
      rows.push(row);
      return row;
    };

    await attempt('read a file', 'orchestrator', 'files', 'files.read', 'allow');
    await attempt('summarise (files calls search)', 'orchestrator', 'files', 'files.summarize', 'allow');
    // The call the files agent made inside files.summarize, as the search tool server saw it.
    const nested = searchNode.server.calls.at(-1);
    rows.push({
      step: '  ↳ inside summarise',
      caller: 'files',
      sidecar: 'search',
      tool: 'search.web',
      expect: 'allow',
      got: nested?.tool === 'search.web' ? 'allow' : 'missing',
      decisionId: nested?.caller.decisionId ?? '-',
      seen: nested ? `${nested.caller.sub.split('/').at(-1)}@${nested.caller.depth}` : '-',
    });
    // Replay: the captured tools/call of step 1, byte for byte, token and proof included.
    const captured = wire.find(
      (w) => w.init.body instanceof Uint8Array && Buffer.from(w.init.body).includes('"files.read"'),
    );
    if (!captured) throw new DemoError('DEMO_FAILED', 'no files.read call on the wire');
    rows.push(
      await raw(
        'replay the captured call',
        'eavesdropper',
        'files',
        'files.read',
        'AUTHZ_PROOF_REPLAYED',
        captured,
      ),
    );
    // Theft: the files agent's token without its key — bare, then with a proof signed by the thief's own key.
    const stolen = await files.token();
    const call = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'search.web', arguments: { text: 'exfiltrate' } },
    });
    const headers = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${stolen}`,
    };
    const target = searchNode.mcpUrl;
    rows.push(
      await raw('stolen token, no proof', 'thief', 'search', 'search.web', 'AUTHZ_PROOF_MISSING', {
        url: target,
        init: { method: 'POST', headers, body: call },
      }),
    );
    const thiefKey = generateKeyPairSync('ed25519').privateKey;
    const forged = createProof({
      token: stolen,
      holderPrivateKey: thiefKey,
      method: 'POST',
      url: target,
      body: call,
    });
    rows.push(
      await raw('stolen token, thief-signed proof', 'thief', 'search', 'search.web', 'AUTHZ_PROOF_INVALID', {
        url: target,
        init: { method: 'POST', headers: { ...headers, [PROOF_HEADER]: forged }, body: call },
      }),
    );
    await attempt('out of delegated scope', 'files', 'search', 'search.deep', 'AUTHZ_TOOL_NOT_IN_SCOPE');
    await attempt('report back', 'search', 'orchestrator', 'report.submit', 'allow');

    /** A request sent by someone without the agent's key: plain fetch, so no new proof. */
    async function raw(
      step: string,
      caller: string,
      sidecar: keyof typeof nodes,
      tool: string,
      expect: string,
      req: { url: string; init: RequestInit },
    ): Promise<MeshRow> {
      const before = nodes[sidecar].server.calls.length;
      const res = await fetch(req.url, req.init);
      const denial = await readDenial(res);
      await res.body?.cancel();
      const ran = nodes[sidecar].server.calls.length > before;
      return {
        step,
        caller,
        sidecar,
        tool,
        expect,
        got: denial?.code ?? (ran ? 'allow' : `HTTP_${res.status}`),
        decisionId: denial?.decisionId ?? '-',
        seen: ran ? 'TOOL RAN' : '-',
      };
    }

    const cols = ['#', 'step', 'caller', 'sidecar', 'tool', 'result', 'seen by tool', 'decision'];
    const widths = [2, 32, 12, 12, 15, 24, 14, 8];
    const line = (...cells: unknown[]) => `${cells.map((c, i) => String(c).padEnd(widths[i]!)).join(' ')}\n`;
    out(line(...cols));
    out(line(...widths.map((w) => '-'.repeat(w))));
    for (const [i, r] of rows.entries()) {
      out(line(i + 1, r.step, r.caller, r.sidecar, r.tool, r.got, r.seen, r.decisionId.slice(0, 8)));
    }

    // Revoke the task at the orchestrator's issuer; every sidecar must refuse it within the refresh interval.
    const revoked = await fetch(new URL('/v1/revoke', orchNode.issuerUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${OPERATOR}` },
      body: JSON.stringify({ task: TASK }),
    });
    if (!revoked.ok) throw new DemoError('DEMO_FAILED', `revoke answered ${revoked.status}`);
    const t0 = Date.now();
    const limitMs = REVOCATION_BOUND_MS;
    const probes: Array<[keyof typeof agents, keyof typeof nodes, string]> = [
      ['search', 'orchestrator', 'report.submit'],
      ['orchestrator', 'files', 'files.read'],
      ['files', 'search', 'search.web'],
    ];
    const sidecars = await Promise.all(
      probes.map(async ([caller, sidecar, tool]) => {
        for (;;) {
          const r = await attempt('after revoking the task', caller, sidecar, tool, 'TBIT_REVOKED');
          if (r.got === 'TBIT_REVOKED') return { sidecar, ms: Date.now() - t0 };
          rows.pop(); // an allow before this sidecar re-read the list: try again
          if (Date.now() - t0 > limitMs)
            throw new DemoError(
              'DEMO_FAILED',
              `${sidecar} still allowed the revoked task after ${limitMs} ms`,
            );
          await new Promise((res) => setTimeout(res, 100));
        }
      }),
    );
    out(`\nrevoked task ${TASK} at the orchestrator's issuer; refused (TBIT_REVOKED) on:\n`);
    for (const s of sidecars)
      out(`  ${s.sidecar.padEnd(12)} after ${s.ms} ms (bound ${REVOCATION_BOUND_MS} ms)\n`);

    const wrong = rows.filter((r) => r.got !== r.expect);
    if (wrong.length > 0) {
      throw new DemoError(
        'DEMO_FAILED',
        `unexpected answers: ${wrong.map((r) => `${r.step}: ${r.got}, expected ${r.expect}`).join('; ')}`,
      );
    }
    if (o.keep) out(`data kept: ${root}\n`);
    return { rows, revocation: { refreshIntervalS: MESH_REFRESH_S, sidecars } };
  } finally {
    for (const s of stops.reverse()) await s();
    if (!o.keep) rmSync(root, { recursive: true, force: true });
  }
}
