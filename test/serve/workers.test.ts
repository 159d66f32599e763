/**
 * `sigil serve` with Check workers (docs/authz.md §12), in process as the cluster primary: two forked workers
 * on one ext_authz port, a real LMDB ledger with the durable (sync) path, real gRPC clients each on a connection
 * of its own. Checks reach both workers; the ledger holds exactly what was answered and every receipt points at
 * its record; a revocation reaches every worker; a worker killed with SIGKILL under load loses no allow's
 * record, is re-forked and serves again; close() drains.
 */
import { join } from 'node:path';
import type { Client } from '@grpc/grpc-js';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckResponse } from '../../gen/envoy/service/auth/v3/external_auth_pb.js';
import { LOCAL_OPERATOR } from '../../src/issuer/service.js';
import { MerkleLog } from '../../src/ledger/index.js';
import { verifyLog } from '../../src/ledger/verify-log.js';
import type { RunningSigil } from '../../src/serve/index.js';
import { callCheck } from '../support/authz-client.js';
import { checkRequest, deniedOf, headerRecord, okOf } from '../support/check-request.js';
import { metricSample, startWorkersSigil, type WorkersSigil } from '../support/workers.js';

const SELF = 'spiffe://sigil.mesh/agent/tools/workers-test';
let dir: string;
let sigil: RunningSigil;
/** Four clients, each on its own HTTP/2 connection: node:cluster spreads connections over the workers. */
let clients: Client[] = [];
const lines: { level: number; msg: string; worker?: number }[] = [];

const mint = (task: string, scope = ['fs.read']) =>
  sigil.issuer.service.mint(
    { sub: `spiffe://sigil.mesh/agent/c/${task}`, task_id: task, tool_scope: scope, aud: SELF },
    LOCAL_OPERATOR,
  ).token;

const read = (token: string, i: number) =>
  callCheck(clients[i % clients.length]!, checkRequest({ method: 'POST', path: '/tools/fs.read' }, token));

/** The decision id and receipt of an answer. */
function answerOf(r: CheckResponse): { id: string; receipt: string | undefined; allow: boolean } {
  const ok = okOf(r);
  const h = headerRecord(ok ? ok.responseHeadersToAdd : (deniedOf(r)?.headers ?? []));
  const id = String((r.dynamicMetadata as Record<string, unknown> | undefined)?.decision_id);
  return { id, receipt: h['x-sigil-receipt'], allow: r.status?.code === 0 };
}

/** One sample of the admin /metrics text (0 when absent). */
const metric = (sample: string) => metricSample(`${sigil.admin.url}/metrics`, sample);

/** Checks that an answered allow's receipt names its own record, committed in the ledger. */
function expectRecorded(log: MerkleLog, a: { id: string; receipt: string | undefined; allow: boolean }) {
  const m = /^index=(\d+); leaf=([A-Za-z0-9_-]{43}); origin=/.exec(a.receipt ?? '');
  expect(m, `receipt of ${a.id}`).not.toBeNull();
  const index = Number(m![1]);
  expect(log.decision(index)).toMatchObject({ id: a.id, decision: a.allow ? 'allow' : 'deny' });
  expect(Buffer.from(log.leafHashAt(index)).toString('base64url')).toBe(m![2]);
}

const until = async (what: string, ok: () => boolean | Promise<boolean>, ms = 15_000) => {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

let ws: WorkersSigil;

beforeAll(async () => {
  ws = await startWorkersSigil(
    {
      agent: { spiffe_id: SELF },
      authz: { routes: [{ method: 'POST', path: '/tools/{name}', tool: '{name}' }] },
      audit: { durability: 'sync', checkpoint_interval: 0 },
    },
    {
      logger: pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) }),
      drainMs: 3000,
    },
  );
  sigil = ws.sigil;
  dir = ws.dir;
  clients = ws.clients;
}, 60_000);

afterAll(async () => {
  await ws?.stop();
});

describe('sigil serve with sigil.authz.workers: 2', () => {
  it('forks two workers on one port; Checks over four connections reach both and are recorded', async () => {
    const pids = sigil.workers!.list().map((w) => w.pid);
    expect(pids).toHaveLength(2);
    expect(new Set([...pids, process.pid]).size).toBe(3);
    expect(await metric('sigil_authz_workers')).toBe(2);
    const token = mint('spread');
    await sigil.ledger.settled();
    const decisionsBefore = sigil.ledger.query({ limit: 10_000 }).length;
    const answers = (await Promise.all(Array.from({ length: 40 }, (_, i) => read(token, i)))).map(answerOf);
    expect(answers.every((a) => a.allow)).toBe(true);
    // Both workers answered some: the per-slot counter lives in each worker, merged into the admin /metrics.
    expect(await metric('sigil_authz_worker_checks_total{worker="0"}')).toBeGreaterThan(0);
    expect(await metric('sigil_authz_worker_checks_total{worker="1"}')).toBeGreaterThan(0);
    expect(await metric('sigil_decisions_total{result="allow",code="OK"}')).toBe(40);
    // The ledger holds exactly the answered decisions, each receipt naming its own record.
    expect(sigil.ledger.query({ limit: 10_000 }).length).toBe(decisionsBefore + 40);
    for (const a of answers) expectRecorded(sigil.ledger, a);
    // An out-of-scope Check is a recorded deny, through a worker.
    const deny = answerOf(
      await callCheck(clients[0]!, checkRequest({ method: 'POST', path: '/tools/fs.write' }, token)),
    );
    expect(deny.allow).toBe(false);
    expectRecorded(sigil.ledger, deny);
  });

  it('a revocation through the issuer is in force in every worker', async () => {
    const token = mint('to-revoke');
    expect(
      (await Promise.all([0, 1, 2, 3].map((i) => read(token, i)))).every((r) => r.status!.code === 0),
    ).toBe(true);
    // Revoke answers once every worker applied the new trust snapshot (docs/workers.md §1): no window after it.
    await sigil.issuer.service.revokeInForce({ task: 'to-revoke' }, LOCAL_OPERATOR);
    const rs = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map((i) => read(token, i)));
    expect(rs.map((r) => r.status!.message)).toEqual(Array(8).fill('TBIT_REVOKED'));
  });

  it('a worker killed with SIGKILL under load: no allow without its record, re-forked, serves again', async () => {
    const token = mint('kill');
    const [victim] = sigil.workers!.list();
    const answered: ReturnType<typeof answerOf>[] = [];
    const failures: number[] = [];
    let stop = false;
    // 16 closed-loop callers over the four connections.
    const load = Array.from({ length: 16 }, async (_, i) => {
      while (!stop) {
        try {
          answered.push(answerOf(await read(token, i)));
        } catch (e) {
          failures.push((e as { code: number }).code);
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    });
    await until('load', () => answered.length > 100);
    process.kill(victim!.pid, 'SIGKILL');
    await until('the re-fork', () => {
      const now = sigil.workers!.list();
      return now.length === 2 && !now.some((w) => w.pid === victim!.pid);
    });
    const afterRefork = answered.length;
    await until('more answers after the re-fork', () => answered.length > afterRefork + 200);
    stop = true;
    await Promise.all(load);
    await sigil.ledger.settled();
    expect(await metric('sigil_authz_worker_restarts_total')).toBe(1);
    expect(lines.some((l) => l.msg.startsWith('a Check worker died'))).toBe(true);
    // Connections of the dead worker failed (Envoy: failure_mode_allow false denies those); every allow has its record.
    // The victim's in-flight calls failed as RPCs (UNAVAILABLE), never as an answer.
    expect(failures.every((c) => c === 14)).toBe(true);
    const allows = answered.filter((a) => a.allow);
    expect(allows.length).toBe(answered.length);
    for (const a of allows) expectRecorded(sigil.ledger, a);
    // The clients reconnected while one worker was down, so their connections sit on the survivor (workers
    // close connections after sigil's max age to rebalance). New connections reach the re-forked worker: its
    // slot's counter starts at 0 in the new process.
    clients = ws.reconnect();
    await until('the new worker serving', async () => {
      await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map((i) => read(token, i)));
      return (await metric(`sigil_authz_worker_checks_total{worker="${victim!.slot}"}`)) > 0;
    });
    expect(verifyLog(sigil.ledger)).toMatchObject({ ok: true });
  }, 60_000);

  it('/ready answers 503 while no worker serves (fail closed for the orchestrator), 200 once one does', async () => {
    const ready = async () => (await fetch(`${sigil.admin.url}/ready`)).status;
    expect(await ready()).toBe(200);
    for (const w of sigil.workers!.list()) process.kill(w.pid, 'SIGKILL');
    await until('both workers gone', () => sigil.workers!.list().length === 0);
    // A re-fork takes ≥ 100 ms of backoff plus a process start: the window is far longer than one local request.
    expect(await ready()).toBe(503);
    expect(sigil.workers!.list()).toHaveLength(0);
    await until('a worker serving again', () => sigil.workers!.list().length > 0);
    expect(await ready()).toBe(200);
    await until('both workers back', () => sigil.workers!.list().length === 2);
    clients = ws.reconnect();
  }, 60_000);

  it('close() drains: in-flight Checks are answered and recorded, then the workers exit', async () => {
    const token = mint('drain');
    await sigil.ledger.settled();
    const before = sigil.ledger.size;
    const decisionsBefore = sigil.ledger.query({ limit: 100_000 }).length;
    const pids = sigil.workers!.list().map((w) => w.pid);
    const inflight = Array.from({ length: 40 }, (_, i) => read(token, i));
    while (sigil.ledger.size + sigil.ledger.pending === before) await new Promise((r) => setImmediate(r));
    const closing = sigil.close();
    const answers = await Promise.allSettled(inflight);
    await closing;
    const ok = answers.flatMap((a) => (a.status === 'fulfilled' ? [answerOf(a.value)] : []));
    expect(ok.length).toBeGreaterThan(0);
    for (const a of ok) expect(a.allow).toBe(true);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    const log = await MerkleLog.open(join(dir, 'ledger'), { readOnly: true });
    try {
      expect(log.query({ limit: 100_000 }).length).toBe(decisionsBefore + ok.length);
      for (const a of ok) expectRecorded(log, a);
      expect(log.record(log.size - 1).kind).toBe('sidecar.stop');
      expect(verifyLog(log)).toMatchObject({ ok: true });
    } finally {
      await log.close();
    }
  });
});
