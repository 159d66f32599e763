/**
 * Check workers through a real Envoy 1.40 (envoy/sidecar.yaml, `--concurrency 1`): `sigil serve` (the CLI, as a
 * child process) with `sigil.authz.workers: 2`. Envoy's one worker thread spreads its Checks over several HTTP/2
 * connections (the authz cluster's max_concurrent_streams), node:cluster spreads connections over both workers.
 * A worker killed with SIGKILL under load: Envoy fails its requests closed (503), never lets one through
 * unrecorded; the worker is re-forked. Afterwards every 200's receipt names its record and
 * `sigil audit verify` passes.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MerkleLog } from '../../src/ledger/index.js';
import { type EnvoyProcess, startTestEnvoy } from '../support/envoy.js';
import { issuerFor, runSigilCli, type SigilProcess, startSigilProcess } from '../support/sigil-process.js';
import { type EchoUpstream, startEchoUpstream } from '../support/upstream.js';
import { metricSample } from '../support/workers.js';

const SELF = 'spiffe://sigil.mesh/agent/tools/e2e-workers';
const ORCH = 'spiffe://sigil.mesh/agent/orchestrator/e2e-workers';

let upstream: EchoUpstream;
let sigil: SigilProcess;
let envoy: EnvoyProcess;
let issuer: Awaited<ReturnType<typeof issuerFor>>;

beforeAll(async () => {
  upstream = await startEchoUpstream();
  sigil = await startSigilProcess({
    agent: { spiffe_id: SELF },
    authz: { workers: 2, routes: [{ method: 'POST', path: '/tools/{name}', tool: '{name}' }] },
  });
  envoy = await startTestEnvoy(sigil.authzPort, upstream.port);
  issuer = await issuerFor(sigil.config);
}, 60_000);

afterAll(async () => {
  issuer?.close();
  await envoy?.stop();
  await sigil?.dispose();
  await upstream?.close();
});

/** Live workers by slot, from the primary's "Check worker serving" lines (the last per slot wins). */
function workers(): Map<number, number> {
  const bySlot = new Map<number, number>();
  for (const line of sigil.output().split('\n')) {
    if (!line.includes('"msg":"Check worker serving"')) continue;
    const l = JSON.parse(line) as { worker: number; pid: number };
    bySlot.set(l.worker, l.pid);
  }
  return bySlot;
}

const metric = (sample: string) => metricSample(`${sigil.adminUrl}/metrics`, sample);

interface Answer {
  status: number;
  id: string | null;
  receipt: string | null;
}

/** `n` requests, `parallel` at a time, through Envoy. */
async function load(token: string, n: number, parallel: number, out: Answer[], stop = () => false) {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < n && !stop()) {
        next++;
        const r = await fetch(`${envoy.url}/tools/fs.read`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}` },
        });
        await r.arrayBuffer();
        out.push({
          status: r.status,
          id: r.headers.get('x-sigil-decision-id'),
          receipt: r.headers.get('x-sigil-receipt'),
        });
      }
    }),
  );
}

describe('Envoy → sigil serve with two Check workers', () => {
  const answers: Answer[] = [];
  let token: string;

  it('Checks from one Envoy worker thread reach both workers', async () => {
    expect([...workers().keys()].sort()).toEqual([0, 1]);
    token = issuer.service.mint(
      { sub: ORCH, task_id: 't', tool_scope: ['fs.read'], aud: SELF, ttl: 300 },
      issuer.operator,
    ).token;
    await load(token, 600, 48, answers);
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(await metric('sigil_authz_workers')).toBe(2);
    expect(await metric('sigil_authz_worker_checks_total{worker="0"}')).toBeGreaterThan(0);
    expect(await metric('sigil_authz_worker_checks_total{worker="1"}')).toBeGreaterThan(0);
  }, 60_000);

  it('a worker killed under load: its requests fail closed (503), it is re-forked, every 200 is recorded', async () => {
    const victim = workers().get(0)!;
    const during: Answer[] = [];
    let stop = false;
    const running = load(token, 1_000_000, 32, during, () => stop);
    while (during.length < 200) await new Promise((r) => setTimeout(r, 10));
    process.kill(victim, 'SIGKILL');
    const end = Date.now() + 20_000;
    while (workers().get(0) === victim || during.length < 600) {
      if (Date.now() > end) throw new Error(`no re-fork:\n${sigil.output().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    stop = true;
    await running;
    answers.push(...during);
    expect(new Set(during.map((a) => a.status))).toSatisfy((s: Set<number>) =>
      [...s].every((x) => x === 200 || x === 503),
    );
    expect(await metric('sigil_authz_worker_restarts_total')).toBe(1);
    expect(await metric('sigil_authz_workers')).toBe(2);
  }, 60_000);

  it('after SIGTERM (drain) the ledger holds every answered allow, and verifies', async () => {
    expect(await sigil.stop('SIGTERM')).toBe(0);
    const allowed = answers.filter((a) => a.status === 200);
    expect(allowed.length).toBeGreaterThan(600);
    const log = await MerkleLog.open(join(sigil.dataDir, 'ledger'), { readOnly: true });
    try {
      for (const a of allowed) {
        const m = /^index=(\d+); leaf=([A-Za-z0-9_-]{43});/.exec(a.receipt ?? '');
        expect(m, `receipt of ${a.id}`).not.toBeNull();
        expect(log.decision(Number(m![1]))).toMatchObject({ id: a.id, decision: 'allow' });
        expect(Buffer.from(log.leafHashAt(Number(m![1]))).toString('base64url')).toBe(m![2]);
      }
      expect(log.query({ decision: 'allow', limit: 1_000_000 }).length).toBeGreaterThanOrEqual(
        allowed.length,
      );
    } finally {
      await log.close();
    }
    const v = await runSigilCli(sigil.configFile, ['audit', 'verify']);
    expect(v.code, v.stdout + v.stderr).toBe(0);
  }, 60_000);
});
