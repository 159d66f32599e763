/**
 * The composition root in-process: admin endpoints, a Unix-socket ext_authz listener, and graceful
 * drain (Checks in flight when close() starts still get their answer and their ledger record).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckRequest, CheckResponse } from '../../gen/envoy/service/auth/v3/external_auth_pb.js';
import { loadConfig } from '../../src/config/index.js';
import { LOCAL_OPERATOR } from '../../src/issuer/service.js';
import { MerkleLog } from '../../src/ledger/index.js';
import { type RunningSigil, startSigil } from '../../src/serve/index.js';
import { authzClient, callCheck } from '../support/authz-client.js';
import { checkRequest } from '../support/check-request.js';
import { capturedLogger, loopbackConfig } from '../support/sigil-config.js';

const SELF = 'spiffe://sigil.mesh/agent/tools/serve-test';
let dir: string;
let sigil: RunningSigil;
let client: Client;
/** Log lines at warn and above, as JSON. */
let warnings: { msg: string }[] = [];

const check = (req: CheckRequest) => callCheck(client, req);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sigil-serve-test-'));
  const config = await loopbackConfig(dir, {
    agent: { spiffe_id: SELF },
    authz: {
      // Deprecated, still accepted: runs the grpc-js server like the default (docs/authz.md §Transport).
      transport: 'h2',
      routes: [{ method: 'POST', path: '/tools/{name}', tool: '{name}' }],
    },
    admin: { token: 'serve-test-admin-token' },
    audit: { durability: 'fast' },
  });
  const { logger, lines } = capturedLogger('warn');
  warnings = lines as typeof warnings;
  sigil = await startSigil(config, { logger });
  client = authzClient(sigil.authz.address);
});

afterAll(async () => {
  client?.close();
  await sigil?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('startSigil', () => {
  it('accepts the deprecated sigil.authz.transport "h2" with one warning at start', () => {
    expect(warnings.filter((w) => w.msg.includes('transport'))).toHaveLength(1);
    expect(warnings.find((w) => w.msg.includes('transport'))!.msg).toMatch(/"h2" is deprecated/);
    expect(loadConfig({ env: {} }).authz.transport).toBe('h2c');
  });

  it('listens for ext_authz on a Unix socket and answers Checks', async () => {
    expect(sigil.authz.address).toBe(`unix:${join(dir, 'authz.sock')}`);
    const token = sigil.issuer.service.mint(
      { sub: 'spiffe://sigil.mesh/agent/c/1', task_id: 't', tool_scope: ['fs.read'], aud: SELF },
      LOCAL_OPERATOR,
    ).token;
    expect((await check(checkRequest({ method: 'POST', path: '/tools/fs.read' }, token))).status!.code).toBe(
      0,
    );
    expect((await check(checkRequest({ method: 'POST', path: '/tools/fs.write' }, token))).status!.code).toBe(
      7,
    );
  });

  it('admin: /healthz, /ready, /metrics with the decisions, 404 elsewhere', async () => {
    const base = sigil.admin.url;
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
    expect((await fetch(`${base}/ready`)).status).toBe(200);
    const m = await (await fetch(`${base}/metrics`)).text();
    expect(m).toMatch(/sigil_decisions_total\{result="allow",code="OK"\} 1/);
    // Two decisions; the other entries are lifecycle entries (keys, start, the mint above).
    const size = sigil.ledger.size;
    expect(sigil.ledger.query({}).length).toBe(2);
    expect(size - 2).toBe(sigil.ledger.queryEntries({ limit: 100 }).filter((h) => h.record.kind).length);
    expect(m).toMatch(new RegExp(`sigil_ledger_entries ${size}\\b`));
    expect(m).toMatch(/sigil_check_duration_seconds_bucket/);
    // Group commits: every entry went through one of them, each timed.
    const commits = Number(m.match(/^sigil_ledger_commit_entries_count (\d+)$/m)?.[1]);
    expect(commits).toBeGreaterThanOrEqual(1);
    expect(commits).toBeLessThanOrEqual(size);
    expect(m).toMatch(new RegExp(`^sigil_ledger_commit_entries_sum ${size}$`, 'm'));
    expect(Number(m.match(/^sigil_ledger_commit_duration_seconds_count (\d+)$/m)?.[1])).toBe(commits);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });

  it('close() drains: Checks in flight are answered and recorded, then /ready goes false and the socket closes', async () => {
    const token = sigil.issuer.service.mint(
      { sub: 'spiffe://sigil.mesh/agent/c/2', task_id: 't2', tool_scope: ['fs.read'], aud: SELF },
      LOCAL_OPERATOR,
    ).token;
    await sigil.ledger.settled();
    const before = sigil.ledger.size;
    const decisionsBefore = sigil.ledger.query({ limit: 10_000 }).length;
    const inflight = Array.from({ length: 40 }, () =>
      check(checkRequest({ method: 'POST', path: '/tools/fs.read' }, token)),
    );
    // Close as soon as the first of them reached the pipeline (its record is being group-committed).
    while (sigil.ledger.size + sigil.ledger.pending === before) await new Promise((r) => setImmediate(r));
    const adminUrl = sigil.admin.url;
    const closing = sigil.close();
    const answers = await Promise.allSettled(inflight);
    await closing;
    const ok = answers.filter((a) => a.status === 'fulfilled');
    // Calls that reached the server before close are answered; none is an error answer from SIGIL.
    for (const a of ok) expect((a as PromiseFulfilledResult<CheckResponse>).value.status!.code).toBe(0);
    expect(ok.length).toBeGreaterThan(0);
    const log = await MerkleLog.open(join(dir, 'ledger'), { readOnly: true });
    try {
      // Every answered Check is recorded, and the stop entry after the last of them.
      expect(log.query({ limit: 10_000 }).length).toBe(decisionsBefore + ok.length);
      expect(log.size).toBe(before + ok.length + 1);
      expect(log.record(log.size - 1).kind).toBe('sidecar.stop');
    } finally {
      await log.close();
    }
    await expect(fetch(`${adminUrl}/ready`)).rejects.toThrow();
    await expect(
      check(checkRequest({ method: 'POST', path: '/tools/fs.read' }, token)),
    ).rejects.toMatchObject({ code: 14 });
  });
});
