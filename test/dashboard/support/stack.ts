/**
 * A SIGIL under test for the dashboard: the real ext_authz gRPC server, the real LMDB ledger, the real admin
 * server with the dashboard API mounted, all trusting a test issuer. `check()` sends a real CheckRequest over gRPC.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Client, credentials, type ServiceClientConstructor } from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { type AdminApiHandler, adminLedger, adminTokens, createAdminApi } from '../../../src/admin/api/index.js';
import { startAdminServer } from '../../../src/admin/server.js';
import { authzProtos, checkFromConfig, startAuthzServer } from '../../../src/authz/index.js';
import type { CheckResponse } from '../../../src/authz/types.js';
import { loadConfig } from '../../../src/config/index.js';
import { MerkleLog } from '../../../src/ledger/index.js';
import { checkRequest } from '../../support/check-request.js';
import { agentId, type TestIdentity } from '../../support/identity.js';

/** The admin credential every test stack uses. */
export const ADMIN_TOKEN = 'dashboard-test-admin-token-0123456789';
/** The sidecar's own SPIFFE ID (the audience tokens must cover). */
export const SIDECAR = agentId('gateway');

/** A running stack. */
export interface Stack {
  adminUrl: string;
  adminToken: string;
  log: MerkleLog;
  /** Sends a Check for `tool` carrying `token` (if any) and resolves with Envoy's view of the answer. */
  check(token: string | undefined, tool: string): Promise<CheckResponse>;
  close(): Promise<void>;
}

function authzClient(address: string): Client {
  let node: unknown = authzProtos().grpc;
  for (const p of 'envoy.service.auth.v3.Authorization'.split('.')) node = (node as Record<string, unknown>)[p];
  return new (node as ServiceClientConstructor)(address, credentials.createInsecure());
}

/** Starts the in-process stack on ephemeral ports with a temp data dir. */
export async function startStack(id: TestIdentity): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-dash-'));
  const config = loadConfig({ env: {}, overrides: { data_dir: dir, agent: { spiffe_id: SIDECAR } } });
  const log = await MerkleLog.open(join(dir, 'ledger'), { origin: 'sigil.mesh/sigil/audit' });
  const { check } = checkFromConfig(config, {
    trust: id.trust,
    ledger: {
      append: async (r) => {
        const { index } = await log.appendDecision(r);
        return { index, receipt: `index=${index}` };
      },
    },
  });
  const authz = await startAuthzServer({ listen: '127.0.0.1:0', check });
  const admin = await startAdminServer({ listen: '127.0.0.1:0', registry: new Registry(), isReady: () => true });
  const api: AdminApiHandler = createAdminApi({
    adminToken: ADMIN_TOKEN,
    ledger: adminLedger(log),
    tokens: adminTokens({
      trust: id.trust,
      maxChainDepth: config.validator.max_chain_depth,
      maxTtl: config.issuer.max_ttl,
      clockSkew: config.validator.clock_skew,
    }),
    heartbeatMs: 1000,
  });
  admin.mount(api);
  const client = authzClient(authz.address);
  return {
    adminUrl: admin.url,
    adminToken: ADMIN_TOKEN,
    log,
    check: (token, tool) =>
      new Promise((resolve, reject) => {
        const req = checkRequest({ headers: { 'x-sigil-tool': tool } }, token);
        (client as unknown as Record<string, (r: unknown, cb: (e: Error | null, res: CheckResponse) => void) => void>)
          .Check!.call(client, req, (e, res) => (e ? reject(e) : resolve(res)));
      }),
    async close() {
      client.close();
      api.close();
      await admin.close();
      await authz.close();
      await log.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
