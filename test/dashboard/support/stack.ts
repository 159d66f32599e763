/**
 * The SIGIL the dashboard tests run against: `sigil serve` (child process, tests' shared harness) on free ports
 * with a temp data dir, a real Envoy 1.40 in front of it and an echo upstream behind it, plus the issuer service
 * over the same data dir for minting. Calls go client → Envoy → ext_authz → upstream, so every decision the
 * dashboard shows was made and logged by the real pipeline.
 *
 * While `sigil serve` does not yet mount the dashboard API (src/cli/commands/serve.ts is the authz engineer's),
 * the stack falls back to the same composition root in-process: src/serve startSigil with the dashboard API in its
 * `adminHandlers` hook — exactly what the CLI will run. `mode` says which one ran.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { type AdminApiHandler, dashboardApi } from '../../../src/admin/api/index.js';
import { loadConfig, type SigilConfig } from '../../../src/config/index.js';
import { openAuditLog } from '../../../src/ledger/index.js';
import { type RunningSigil, startSigil } from '../../../src/serve/index.js';
import { opaBuild } from '../../policy/support.js';
import { type EnvoyProcess, startTestEnvoy } from '../../support/envoy.js';
import { freePorts } from '../../support/ports.js';
import { issuerFor, type SigilProcess, startSigilProcess } from '../../support/sigil-process.js';
import { type EchoUpstream, startEchoUpstream } from '../../support/upstream.js';

/** The admin credential every test stack uses (≥ 16 characters). */
export const ADMIN_TOKEN = 'dashboard-test-admin-token-0123456789';
/** The sidecar's own SPIFFE ID (the audience tokens must cover). */
export const SELF = 'spiffe://sigil.mesh/agent/tools/dashboard';
/** Revision of the policy bundle the stack starts with. */
export const POLICY_REV = 'dash-policy-1';

/** A running stack. */
export interface Stack {
  mode: 'sigil serve (child process)' | 'startSigil (in-process)';
  adminUrl: string;
  adminToken: string;
  config: SigilConfig;
  issuer: Awaited<ReturnType<typeof issuerFor>>;
  /** The checkpoint verifier key, read from the data dir the way an operator would (`sigil audit` / ledger). */
  verifierKey: string;
  /** POSTs `/tools/<tool>` through Envoy with the token (if any); resolves with the HTTP status. */
  call(token: string | undefined, tool: string): Promise<number>;
  close(): Promise<void>;
}

function sigilSection(policyFile: string): Record<string, unknown> {
  return {
    agent: { spiffe_id: SELF },
    audit: { checkpoint_interval: 0 },
    policy: { bundle: policyFile, poll_interval: 1 },
    authz: { routes: [{ method: 'POST', path: '/tools/{name}', tool: '{name}' }] },
  };
}

/** Starts upstream, SIGIL and Envoy. */
export async function startStack(): Promise<Stack> {
  const work = mkdtempSync(join(tmpdir(), 'sigil-dash-'));
  const policyFile = join(work, 'bundle.tar.gz');
  writeFileSync(policyFile, opaBuild('policy/default', ['envoy/authz/allow'], POLICY_REV));
  const upstream: EchoUpstream = await startEchoUpstream();

  // sigil serve reads SIGIL__ADMIN__TOKEN from the environment (config env overrides); the harness passes env through.
  process.env.SIGIL__ADMIN__TOKEN = ADMIN_TOKEN;
  let proc: SigilProcess | undefined = await startSigilProcess(sigilSection(policyFile));
  let inproc: RunningSigil | undefined;
  let api: AdminApiHandler | undefined;
  let config: SigilConfig = proc.config;
  let adminUrl = proc.adminUrl;
  let authzPort = proc.authzPort;
  const mounted = (await fetch(`${adminUrl}/api/status`)).status !== 404;
  if (!mounted) {
    await proc.dispose();
    proc = undefined;
    const [authz, admin, http, grpc] = await freePorts(4);
    const dataDir = join(work, 'data');
    const section = sigilSection(policyFile);
    config = loadConfig({
      env: {},
      overrides: {
        ...section,
        data_dir: dataDir,
        authz: { ...(section.authz as object), listen: `127.0.0.1:${authz}` },
        admin: { listen: `127.0.0.1:${admin}`, token: ADMIN_TOKEN },
        issuer: { listen_http: `127.0.0.1:${http}`, listen_grpc: `127.0.0.1:${grpc}` },
      },
    });
    inproc = await startSigil(config, {
      logger: pino({ level: 'warn' }),
      adminHandlers: async (parts) => {
        api = await dashboardApi(parts);
        return [api];
      },
    });
    adminUrl = inproc.admin.url;
    authzPort = authz!;
  }
  const envoy: EnvoyProcess = await startTestEnvoy(authzPort, upstream.port);
  const issuer = await issuerFor(config);
  const verifierKey = inproc
    ? inproc.ledger.verifierKey
    : await (async () => {
        const log = await openAuditLog(config, { readOnly: true });
        try {
          return log.verifierKey;
        } finally {
          await log.close();
        }
      })();
  return {
    mode: proc ? 'sigil serve (child process)' : 'startSigil (in-process)',
    adminUrl,
    adminToken: ADMIN_TOKEN,
    config,
    issuer,
    verifierKey,
    async call(token, tool) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (token) headers.authorization = `Bearer ${token}`;
      const res = await fetch(`${envoy.url}/tools/${encodeURIComponent(tool)}`, {
        method: 'POST',
        headers,
        body: '{}',
      });
      await res.arrayBuffer();
      return res.status;
    },
    async close() {
      issuer.close();
      await envoy.stop();
      await proc?.dispose();
      api?.close();
      await inproc?.close();
      await upstream.close();
      rmSync(work, { recursive: true, force: true });
    },
  };
}
