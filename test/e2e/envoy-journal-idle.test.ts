/**
 * Through a real Envoy 1.40 (envoy/sidecar.yaml) to a `sigil serve` child running `audit.durability:
 * journal` (docs/ledger.md §3 "Journal") and `authz.idle_timeout_s: 1` (docs/authz.md §Transport):
 * - every allowed call's receipt can be proved at once over the admin API, although LMDB commits behind
 *   the answer; after a SIGKILL every receipt is in the reopened ledger and `sigil audit verify` passes;
 * - SIGIL closes Envoy's idle Check connection (Envoy's own stats count the GOAWAY) and no call is
 *   refused across the closes, including calls spaced at the idle timeout.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MerkleLog } from '../../src/ledger/index.js';
import { type EnvoyProcess, startTestEnvoy } from '../support/envoy.js';
import { issuerFor, runSigilCli, type SigilProcess, startSigilProcess } from '../support/sigil-process.js';
import { type EchoUpstream, startEchoUpstream } from '../support/upstream.js';

const SELF = 'spiffe://sigil.mesh/agent/tools/journal';
const ORCH = 'spiffe://sigil.mesh/agent/orchestrator/journal';
const ADMIN_TOKEN = 'e2e-journal-admin-token-0123456789';

let upstream: EchoUpstream;
let sigil: SigilProcess;
let envoy: EnvoyProcess;
let issuer: Awaited<ReturnType<typeof issuerFor>>;
let token: string;
const receipts: number[] = [];

beforeAll(async () => {
  upstream = await startEchoUpstream();
  sigil = await startSigilProcess({
    agent: { spiffe_id: SELF },
    admin: { token: ADMIN_TOKEN },
    audit: { durability: 'journal' },
    authz: { idle_timeout_s: 1, routes: [{ method: 'POST', path: '/tools/{name}', tool: '{name}' }] },
  });
  envoy = await startTestEnvoy(sigil.authzPort, upstream.port);
  issuer = await issuerFor(sigil.config);
  issuer.stores.keys.agents.ensure(ORCH);
  token = issuer.service.mint(
    { sub: ORCH, task_id: 'task-journal', tool_scope: ['fs.*'], aud: SELF, ttl: 120 },
    issuer.operator,
  ).token;
}, 60_000);

afterAll(async () => {
  issuer?.close();
  await envoy?.stop();
  await sigil?.dispose();
  await upstream?.close();
});

/** One allowed call through Envoy; returns the status and records the receipt's index. */
async function call(): Promise<number> {
  const res = await fetch(`${envoy.url}/tools/fs.read`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
  });
  await res.arrayBuffer();
  const receipt = res.headers.get('x-sigil-receipt');
  const index = receipt ? /^index=(\d+);/.exec(receipt)?.[1] : undefined;
  if (res.status === 200 && index !== undefined) receipts.push(Number(index));
  return res.status;
}

/**
 * Envoy's counters of its connections to SIGIL's Check listener. At SIGIL's GOAWAY Envoy closes the
 * connection itself: `close_notify` (closed by the peer's GOAWAY) counts them, not `destroy_remote`.
 */
async function authzConnections(): Promise<{ total: number; closedBySigil: number }> {
  const res = await fetch(
    `http://127.0.0.1:${envoy.ports.admin}/stats?filter=^cluster\\.sigil_authz\\.upstream_cx_`,
  );
  const stats = new Map(
    (await res.text())
      .trim()
      .split('\n')
      .map((l) => l.split(': ') as [string, string]),
  );
  return {
    total: Number(stats.get('cluster.sigil_authz.upstream_cx_total')),
    closedBySigil: Number(stats.get('cluster.sigil_authz.upstream_cx_close_notify')),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Envoy → sigil serve (journal durability, 1 s idle timeout)', () => {
  it('proves each receipt at once over the admin API', async () => {
    for (let i = 0; i < 5; i++) expect(await call()).toBe(200);
    const last = receipts[receipts.length - 1] as number;
    const res = await fetch(`${sigil.adminUrl}/api/proof/${last}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { index: number }).index).toBe(last);
  });

  it('closes the idle Check connection; calls across the closes are all served', async () => {
    expect(await call()).toBe(200);
    const before = await authzConnections();
    await sleep(1800); // idle 1 s, the 50 ms sweep, the GOAWAY/PING round trip
    const after = await authzConnections();
    expect(after.closedBySigil).toBeGreaterThan(before.closedBySigil);
    // Calls spaced around the idle timeout race SIGIL's GOAWAY: none may be refused.
    for (const gap of [950, 1000, 1050, 1100, 0, 1000]) {
      await sleep(gap);
      expect(await call()).toBe(200);
    }
    const end = await authzConnections();
    expect(end.total).toBeGreaterThan(before.total);
  }, 30_000);

  it('after SIGKILL every receipt is in the reopened ledger, which verifies', async () => {
    expect(receipts.length).toBeGreaterThanOrEqual(12);
    await sigil.stop('SIGKILL');
    const log = await MerkleLog.open(join(sigil.dataDir, 'ledger'));
    try {
      for (const i of receipts) expect(log.decision(i).decision).toBe('allow');
    } finally {
      await log.close();
    }
    const verify = await runSigilCli(sigil.configFile, ['audit', 'verify']);
    expect(verify.code, verify.stderr).toBe(0);
  }, 60_000);
});
