/**
 * Three real `sigil serve` sidecars (startSigil) witnessing each other 2-of-3 through the admin server's
 * tlog-witness endpoint; the collector's cross-sidecar answers verified by TS and by Go (witness-interop
 * verify-collect: x/mod tlog + note, torchwood cosignatures); a sidecar restored from an old backup
 * refuses to start (WITNESS_ROLLBACK) until the operator accepts the rollback.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { witnessBadge } from '../../dashboard/src/witness-badge.js';
import { startSigil } from '../../src/serve/index.js';
import { collect, thresholdPolicy } from '../../src/witness/index.js';
import { acceptRollback } from '../../src/witness/reset.js';
import { record } from '../ledger/helpers.js';
import {
  MESH_ADMIN,
  type MeshNode,
  type SigilMesh,
  silent,
  startSigilMesh,
  waitCosigned as waitFor,
} from './sigil-mesh.js';

const GO = join(process.cwd(), '.tools/bin/witness-interop');
const ADMIN = MESH_ADMIN;
let mesh: SigilMesh;
let nodes: MeshNode[] = [];
const waitCosigned = (n: MeshNode, size: number, count: number) => waitFor(n, nodes, size, count);

/** Runs Go's verify-collect on `report` (k = 2 of the three witnesses). */
async function goVerify(report: unknown): Promise<{ code: unknown; out: string; err: string }> {
  const go = spawn(GO, [
    'verify-collect',
    '-log-vkeys',
    nodes.map((n) => n.logKey).join(','),
    '-witnesses',
    nodes.map((n) => `${n.witnessName}:${n.seed.toString('hex')}`).join(','),
    '-k',
    '2',
  ]);
  let out = '';
  let err = '';
  go.stdout.on('data', (d) => {
    out += d;
  });
  go.stderr.on('data', (d) => {
    err += d;
  });
  go.stdin.end(JSON.stringify(report));
  const code = await new Promise((r) => go.once('close', r));
  return { code, out, err };
}

beforeAll(async () => {
  mesh = await startSigilMesh();
  nodes = mesh.nodes;
}, 60_000);

afterAll(() => mesh?.close());

describe('sigil serve ×3, witnessing each other 2-of-3', () => {
  it('cosigns each sidecar’s checkpoints and answers one task across the mesh, proven, checked by Go', async () => {
    for (const [i, n] of nodes.entries()) {
      const log = n.sigil!.ledger;
      for (let j = 0; j < 5 + i; j++)
        await log.appendDecision(
          record(j, { task_id: j % 2 === 0 ? 'task-T' : 'task-U', id: `${n.name}-${j}` }),
        );
      const cp = await log.checkpoints.make();
      await waitCosigned(n, cp.size, 3);
    }
    const status = (await (await fetch(`${nodes[0]!.sigil!.admin.url}/witness/status`)).json()) as {
      policy: { k: number; n: number };
      witnesses: Array<{ name: string; alarm?: unknown }>;
    };
    expect(status.policy).toEqual({ k: 2, n: 3 });
    // The dashboard badge's data, verified the way the browser does it.
    expect(await witnessBadge(nodes[0]!.sigil!.admin.url)).toEqual({
      ok: true,
      text: 'witnessed 3/3',
      title: `vouched: ${nodes.map((n) => n.witnessName).join(', ')}`,
    });
    expect(status.witnesses.map((w) => [w.name, w.alarm])).toEqual(
      nodes.map((n) => [n.witnessName, undefined]),
    );
    const policy = thresholdPolicy(
      nodes.map((n) => n.witnessKey),
      2,
    );
    const report = await collect({
      task: 'task-T',
      policy,
      sources: nodes.map((n) => ({ name: n.name, url: n.sigil!.admin.url, token: ADMIN, logKey: n.logKey })),
    });
    expect(report.errors).toEqual([]);
    // Entries 0, 2, 4 (and 6 on c) of each sidecar are task-T; their index in each log is after the start-up entries.
    expect(report.answers.map((a) => a.record.id).sort()).toEqual(
      ['a-0', 'a-2', 'a-4', 'b-0', 'b-2', 'b-4', 'c-0', 'c-2', 'c-4', 'c-6'].sort(),
    );
    for (const a of report.answers) expect(a.cosigners.length).toBeGreaterThanOrEqual(2);
    // A wrong token is refused; the collector reports it and trusts nothing from that sidecar.
    const denied = await collect({
      task: 'task-T',
      policy,
      sources: [
        {
          name: 'a',
          url: nodes[0]!.sigil!.admin.url,
          token: 'wrong-token-0123456789',
          logKey: nodes[0]!.logKey,
        },
      ],
    });
    expect(denied.answers).toEqual([]);
    expect(denied.errors[0]?.message).toMatch(/401/);
    // Go checks every answer independently.
    expect(existsSync(GO), 'run scripts/setup-tools.sh').toBe(true);
    const { code, out, err } = await goVerify(report);
    expect(code, err).toBe(0);
    const lines = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { ok: boolean; origin: string });
    expect(lines).toHaveLength(report.answers.length);
    expect(lines.every((l) => l.ok)).toBe(true);
    // Tampering with one answer's entry makes Go refuse.
    const bad = structuredClone(report);
    bad.answers[0]!.bundle = bad.answers[0]!.bundle.replace(
      /^extra (\S)/m,
      (_m, c: string) => `extra ${c === 'A' ? 'B' : 'A'}`,
    );
    expect((await goVerify(bad)).code).toBe(1);
  }, 60_000);

  it('a sidecar restored from an old backup refuses to start until the operator accepts the rollback', async () => {
    const a = nodes[0]!;
    await a.sigil!.close();
    a.sigil = undefined;
    const backup = join(mesh.root, 'a-backup');
    cpSync(a.dir, backup, { recursive: true });
    a.sigil = await startSigil(a.config, { logger: silent });
    for (let j = 0; j < 20; j++) await a.sigil.ledger.appendDecision(record(100 + j, { id: `a-new-${j}` }));
    const cp = await a.sigil.ledger.checkpoints.make();
    await waitCosigned(a, cp.size, 3);
    await a.sigil.close();
    a.sigil = undefined;
    rmSync(a.dir, { recursive: true });
    cpSync(backup, a.dir, { recursive: true });
    const err = await startSigil(a.config, { logger: silent }).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('WITNESS_ROLLBACK');
    // Fail closed: nothing listens on the admin port any more (start-up closed what it opened).
    await expect(fetch(`http://${a.config.admin.listen}/ready`)).rejects.toThrow();
    acceptRollback(join(a.dir, 'witness'), a.origin, 'test: restored from backup on purpose');
    a.sigil = await startSigil(a.config, { logger: silent });
    const metrics = await (await fetch(`${a.sigil.admin.url}/metrics`)).text();
    expect(metrics).toMatch(/sigil_witness_alarm\{witness="b\.mesh\/witness",reason="rollback"\} 1/);
    // The badge turns red and says which witnesses raised what.
    const badge = await witnessBadge(a.sigil.admin.url);
    expect(badge?.ok).toBe(false);
    expect(badge?.title).toMatch(/b\.mesh\/witness: rollback\nc\.mesh\/witness: rollback/);
  }, 60_000);
});
