/**
 * The SIGIL the dashboard tests run against: `sigil serve` as a child process (the tests' shared harness) on free
 * ports with a temp data dir and an OPA-Wasm policy bundle built from policy/default, a real Envoy 1.40 in front of
 * it and an echo upstream behind it, plus the issuer service over the same data dir for minting. Calls go
 * client → Envoy → ext_authz → upstream, so every decision the dashboard shows was made and logged by the real
 * pipeline. The checkpoint verifier key is taken out of band with `sigil audit checkpoint`, as an operator would.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAuditLog } from '../../../src/serve/open-audit-log.js';
import { opaBuild } from '../../policy/support.js';
import { type EnvoyProcess, startTestEnvoy } from '../../support/envoy.js';
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
  sigil: SigilProcess;
  /** Envoy's listener URL (client side). */
  envoyUrl: string;
  /** The policy bundle file `sigil serve` hot-reloads. */
  policyFile: string;
  adminUrl: string;
  adminToken: string;
  issuer: Awaited<ReturnType<typeof issuerFor>>;
  /** The checkpoint verifier key, from `sigil audit checkpoint` on the data dir. */
  verifierKey: string;
  /** POSTs `/tools/<tool>` through Envoy with the token (if any); resolves with the HTTP status. */
  call(token: string | undefined, tool: string): Promise<number>;
  close(): Promise<void>;
}

/** Starts upstream, `sigil serve` and Envoy. */
export async function startStack(): Promise<Stack> {
  const work = mkdtempSync(join(tmpdir(), 'sigil-dash-'));
  const policyFile = join(work, 'bundle.tar.gz');
  writeFileSync(policyFile, opaBuild('policy/default', ['envoy/authz/allow'], POLICY_REV));
  const upstream: EchoUpstream = await startEchoUpstream();
  // The harness writes its own `admin` section; the credential goes in through the documented env override.
  process.env.SIGIL__ADMIN__TOKEN = ADMIN_TOKEN;
  const sigil = await startSigilProcess({
    agent: { spiffe_id: SELF },
    audit: { checkpoint_interval: 0 },
    policy: { bundle: policyFile, poll_interval: 1 },
    authz: { routes: [{ method: 'POST', path: '/tools/{name}', tool: '{name}' }] },
  });
  const status = await fetch(`${sigil.adminUrl}/api/status`);
  if (status.status !== 401) {
    await sigil.dispose();
    throw new Error(`sigil serve does not serve the dashboard API (GET /api/status → ${status.status})`);
  }
  let envoy: EnvoyProcess | undefined;
  let issuer: Awaited<ReturnType<typeof issuerFor>> | undefined;
  let verifierKey: string;
  try {
    envoy = await startTestEnvoy(sigil.authzPort, upstream.port);
    issuer = await issuerFor(sigil.config);
    // The sidecar makes the first checkpoint (and its key); the key is then read with a read-only open: the
    // sidecar is the ledger's one writer (a writable `sigil audit checkpoint` next to it is LEDGER_LOCKED).
    const cp = await fetch(`${sigil.adminUrl}/api/checkpoint`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    if (cp.status !== 200) throw new Error(`GET /api/checkpoint → ${cp.status}: ${await cp.text()}`);
    const reader = await openAuditLog(sigil.config, { readOnly: true });
    verifierKey = reader.checkpoints.verifierKey;
    await reader.close();
  } catch (e) {
    // A stack that failed to start leaves no processes behind.
    issuer?.close();
    await envoy?.stop();
    await sigil.dispose();
    await upstream.close();
    throw e;
  }
  const started = { envoy, issuer };
  return {
    sigil,
    envoyUrl: started.envoy.url,
    policyFile,
    adminUrl: sigil.adminUrl,
    adminToken: ADMIN_TOKEN,
    issuer: started.issuer,
    verifierKey,
    async call(token, tool) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (token) headers.authorization = `Bearer ${token}`;
      const res = await fetch(`${started.envoy.url}/tools/${encodeURIComponent(tool)}`, {
        method: 'POST',
        headers,
        body: '{}',
      });
      await res.arrayBuffer();
      return res.status;
    },
    async close() {
      started.issuer.close();
      await started.envoy.stop();
      await sigil.dispose();
      await upstream.close();
      rmSync(work, { recursive: true, force: true });
    },
  };
}
