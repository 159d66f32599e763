/**
 * One node of the mesh demo: an agent's MCP tool server behind its own Envoy + SIGIL on loopback, with its own
 * data dir. Nodes other than the issuing one trust the issuer's JWKS and revocation list through a
 * `validator.trust_bundles` entry bound to that issuer and the trust domain (docs/keys.md); every node enforces
 * (and may write) the same revocation list file.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../config/index.js';
import { type RunningSigil, startSigil } from '../serve/index.js';
import { type EnvoyProcess, startEnvoy } from './envoy-process.js';
import { sidecarPorts } from './free-port.js';
import { type McpToolServer, type MeshTool, startMcpToolServer } from './mcp-tool-server.js';

/** The keys a node trusts besides its own: the issuing node's JWKS. */
export interface MeshTrust {
  /** JWKS file of the issuing node. */
  bundle: string;
  /** Its issuer id (the bundle may vouch only for it). */
  issuer: string;
}

/** Options of {@link startMeshNode}. */
export interface MeshNodeOptions {
  name: string;
  spiffeId: string;
  /** Parent directory; the node's data dir is `<root>/<name>`. */
  root: string;
  /** This node's issuer id (`issuer.id`). */
  issuerId: string;
  tools: MeshTool[];
  /** Enables Mint/Revoke over HTTP on this node. */
  operatorToken?: string;
  trust?: MeshTrust;
  /** `validator.refresh_interval`, seconds. */
  refreshInterval: number;
  /** `validator.revocations`: the list file this sidecar enforces and writes. */
  revocations: string;
  /** Extra `authz` settings (e.g. the proof mode). */
  authz?: Record<string, unknown>;
}

/** A running node. */
export interface MeshNode {
  name: string;
  spiffeId: string;
  dataDir: string;
  sigil: RunningSigil;
  envoy: EnvoyProcess;
  server: McpToolServer;
  /** The MCP endpoint through Envoy. */
  mcpUrl: string;
  /** The issuer endpoint (HTTP). */
  issuerUrl: string;
  close(): Promise<void>;
}

/** Starts the node's MCP server, SIGIL and Envoy; stops what it started when a later step fails. */
export async function startMeshNode(o: MeshNodeOptions): Promise<MeshNode> {
  const dataDir = join(o.root, o.name);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const {
    authz: authzPort,
    admin: adminPort,
    issuerHttp: httpPort,
    issuerGrpc: grpcPort,
    listen,
    envoyAdmin,
  } = await sidecarPorts();
  const config = loadConfig({
    env: {},
    overrides: {
      data_dir: dataDir,
      agent: { spiffe_id: o.spiffeId },
      // An MCP session's initialize and tools/list name no tool: allowed on the verified identity alone;
      // every tools/call is still checked against the scope (docs/authz.md §2 step 4).
      // Every request must carry a proof by the token's key (docs/proof.md): a copied token is worthless.
      authz: { listen: `127.0.0.1:${authzPort}`, require_tool: false, proof: 'require', ...o.authz },
      admin: { listen: `127.0.0.1:${adminPort}` },
      issuer: {
        id: o.issuerId,
        listen_http: `127.0.0.1:${httpPort}`,
        listen_grpc: `127.0.0.1:${grpcPort}`,
        ...(o.operatorToken !== undefined ? { operator_token: o.operatorToken } : {}),
      },
      validator: {
        refresh_interval: o.refreshInterval,
        revocations: o.revocations,
        ...(o.trust
          ? {
              trust_bundles: [
                {
                  source: o.trust.bundle,
                  issuers: [o.trust.issuer],
                  trust_domains: [new URL(o.spiffeId).host],
                },
              ],
            }
          : {}),
      },
      audit: { checkpoint_interval: 0 },
    },
  });
  const stops: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const s of stops.splice(0).reverse()) await s();
  };
  try {
    const server = await startMcpToolServer(o.name, o.tools);
    stops.push(() => server.close());
    const sigil = await startSigil(config, { logger: pino({ level: process.env.MESH_LOG ?? 'silent' }) });
    stops.push(() => sigil.close());
    const envoy = await startEnvoy({ listen, admin: envoyAdmin, authz: authzPort, upstream: server.port });
    stops.push(() => envoy.stop());
    return {
      name: o.name,
      spiffeId: o.spiffeId,
      dataDir,
      sigil,
      envoy,
      server,
      mcpUrl: `${envoy.url}/mcp`,
      issuerUrl: `http://127.0.0.1:${httpPort}`,
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
