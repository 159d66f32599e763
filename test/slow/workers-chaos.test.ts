/**
 * Check workers under sustained load while workers keep dying (docs/authz.md §12): `sigil serve` in process with
 * `workers: 3` and a durable ledger, 32 closed-loop callers over 8 connections for SIGIL_WORKERS_CHAOS_SECONDS
 * (default 60), a random worker SIGKILLed every 2–5 s and revocations made in between. Invariants: every answer
 * that allowed has its record at the index its receipt names, a revoked task is never allowed once Revoke
 * answered, every failure is an UNAVAILABLE RPC (never an answer), all workers are back at the end, and the
 * ledger verifies.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckResponse } from '../../gen/envoy/service/auth/v3/external_auth_pb.js';
import { LOCAL_OPERATOR } from '../../src/issuer/service.js';
import { verifyLog } from '../../src/ledger/verify-log.js';
import { callCheck } from '../support/authz-client.js';
import { checkRequest, deniedOf, headerRecord, okOf } from '../support/check-request.js';
import { metricSample, startWorkersSigil, type WorkersSigil } from '../support/workers.js';

const SELF = 'spiffe://sigil.mesh/agent/tools/workers-chaos';
const SECONDS = Number(process.env.SIGIL_WORKERS_CHAOS_SECONDS ?? 60);
let ws: WorkersSigil;

beforeAll(async () => {
  ws = await startWorkersSigil(
    {
      agent: { spiffe_id: SELF },
      authz: { workers: 3, routes: [{ method: 'POST', path: '/tools/{name}', tool: '{name}' }] },
      audit: { durability: 'sync', checkpoint_interval: 0 },
    },
    { logger: pino({ level: 'silent' }), clients: 8 },
  );
});

afterAll(async () => {
  await ws?.stop();
});

interface Answer {
  task: string;
  allow: boolean;
  id: string;
  receipt: string | undefined;
  at: number;
}

describe('Check workers under load with crashes and revocations', () => {
  it('no allow without its record, no allow after a revocation answered', async () => {
    const { sigil } = ws;
    const mint = (task: string) =>
      sigil.issuer.service.mint(
        {
          sub: `spiffe://sigil.mesh/agent/c/${task}`,
          task_id: task,
          tool_scope: ['fs.read'],
          aud: SELF,
          ttl: 300,
        },
        LOCAL_OPERATOR,
      ).token;
    const tasks = Array.from({ length: 8 }, (_, i) => `task-${i}`);
    const tokens = new Map(tasks.map((t) => [t, mint(t)]));
    const revokedAt = new Map<string, number>();
    const answers: Answer[] = [];
    const failures: number[] = [];
    let stop = false;
    const callers = Array.from({ length: 32 }, async (_, i) => {
      while (!stop) {
        const task = tasks[i % tasks.length]!;
        const sent = Date.now();
        try {
          const r: CheckResponse = await callCheck(
            ws.clients[i % ws.clients.length]!,
            checkRequest({ method: 'POST', path: '/tools/fs.read' }, tokens.get(task)),
          );
          const ok = okOf(r);
          const h = headerRecord(ok ? ok.responseHeadersToAdd : (deniedOf(r)?.headers ?? []));
          answers.push({
            task,
            allow: r.status?.code === 0,
            id: String((r.dynamicMetadata as Record<string, unknown>).decision_id),
            receipt: h['x-sigil-receipt'],
            at: sent,
          });
        } catch (e) {
          failures.push((e as { code: number }).code);
          await new Promise((r) => setTimeout(r, 10));
        }
      }
    });
    const end = Date.now() + SECONDS * 1000;
    let kills = 0;
    let revoked = 0;
    while (Date.now() < end) {
      await new Promise((r) => setTimeout(r, 2000 + Math.random() * 3000));
      const live = sigil.workers!.list();
      if (live.length > 0) {
        process.kill(live[Math.floor(Math.random() * live.length)]!.pid, 'SIGKILL');
        kills++;
      }
      if (revoked < tasks.length - 2 && kills % 2 === 0) {
        const task = tasks[revoked++]!;
        try {
          await sigil.issuer.service.revokeInForce({ task }, LOCAL_OPERATOR);
          revokedAt.set(task, Date.now());
        } catch (e) {
          // ISSUER_NOT_IN_FORCE when a worker died mid-update: revoked on disk, in force once re-forked.
          expect(e).toMatchObject({ code: 'ISSUER_NOT_IN_FORCE' });
        }
      }
    }
    stop = true;
    await Promise.all(callers);
    await sigil.ledger.settled();
    // Every failure is a failed RPC of a dying worker's connection.
    expect(failures.every((c) => c === 14 || c === 1)).toBe(true);
    expect(kills).toBeGreaterThan(0);
    for (const a of answers.filter((x) => x.allow)) {
      const m = /^index=(\d+); leaf=([A-Za-z0-9_-]{43});/.exec(a.receipt ?? '');
      expect(m, a.id).not.toBeNull();
      expect(sigil.ledger.decision(Number(m![1]))).toMatchObject({ id: a.id, decision: 'allow' });
      // A request sent after Revoke answered is never allowed.
      const r = revokedAt.get(a.task);
      if (r !== undefined) expect(a.at).toBeLessThan(r);
    }
    const deadline = Date.now() + 15_000;
    while (sigil.workers!.list().length < 3 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    expect(sigil.workers!.list()).toHaveLength(3);
    expect(await metricSample(`${sigil.admin.url}/metrics`, 'sigil_authz_worker_restarts_total')).toBe(kills);
    expect(verifyLog(sigil.ledger)).toMatchObject({ ok: true });
  });
});
