/**
 * Three sidecars witnessing each other on loopback with a 2-of-3 policy (docs/witness.md): cosigning,
 * a witness that is down, a rolled-back log, a forked log, a replayed old checkpoint, forged cosignatures.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { b64decode, b64encode, type MerkleLog } from '../../src/ledger/index.js';
import {
  loadOrCreateCosigner,
  verifyCosigned,
  WitnessError,
  WitnessService,
} from '../../src/witness/index.js';
import { formatAddCheckpoint } from '../../src/witness/lib/protocol.js';
import { connect, grow, metricValue, openLog, type Sidecar, startMesh } from './helpers.js';

let root: string;
let mesh: Sidecar[];
const extra: MerkleLog[] = [];

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'sigil-witness-'));
  mesh = await startMesh(root, ['a', 'b', 'c']);
  for (const s of mesh) connect(s, mesh, 2);
});
afterEach(async () => {
  for (const l of extra.splice(0)) await l.close().catch(() => undefined);
  for (const s of mesh) await s.close().catch(() => undefined);
  rmSync(root, { recursive: true, force: true });
});

const A = () => mesh[0] as Sidecar;
const policy = (s: Sidecar, k = 2) => ({
  logKey: s.log.checkpoints.verifierKey,
  witnesses: mesh.map((w) => w.witnessKey),
  k,
});
const post = (s: Sidecar, body: string) =>
  fetch(`${s.url}/add-checkpoint`, { method: 'POST', body }).then(async (r) => ({
    status: r.status,
    body: await r.text(),
    type: r.headers.get('content-type'),
  }));

describe('a mesh of three sidecars, 2-of-3', () => {
  it('gets every checkpoint cosigned by all three, with proofs from the last cosigned size', async () => {
    for (const s of mesh) {
      await grow(s.log, 5 + (s.name.charCodeAt(0) % 3), s.name);
      const r = await s.client!.witness(await s.log.checkpoints.make());
      expect(r.cosigners).toEqual(['a.mesh/witness', 'b.mesh/witness', 'c.mesh/witness']);
      expect(r.policyMet).toBe(true);
      expect(verifyCosigned(r.note, policy(s, 3)).cosigners.map((c) => c.name)).toEqual(r.cosigners);
    }
    // Grow again: the client sends `old <5..7>` and a consistency proof; the witnesses move on.
    await grow(A().log, 300, 'more');
    const r = await A().client!.witness(await A().log.checkpoints.make());
    expect(r.size).toBe(A().log.size);
    expect(r.cosigners).toHaveLength(3);
    for (const w of mesh) expect(w.service.sizes()[A().origin]).toBe(A().log.size);
    expect(A().client!.latest()?.note).toBe(r.note);
    expect(await metricValue(A().registry, 'sigil_witness_policy_met')).toBe(1);
    // Monitoring endpoint: the checkpoint with the log's signature and that witness's cosignature.
    const h = (await import('node:crypto')).createHash('sha256').update(A().origin).digest('hex');
    const served = await (await fetch(`${mesh[1]!.url}/${h}/checkpoint`)).text();
    expect(
      verifyCosigned(served, { ...policy(A()), witnesses: [mesh[1]!.witnessKey], k: 1 }).checkpoint.size,
    ).toBe(r.size);
    // Client state lost (new data dir copy, same log): each witness answers 409 with its size, the client
    // resends with a proof from there and is cosigned.
    await A().client!.close();
    rmSync(join(A().dir, 'witness', 'client.json'));
    await grow(A().log, 3, 'after');
    const again = await connect(A(), mesh, 2).witness(await A().log.checkpoints.make());
    expect(again.cosigners).toHaveLength(3);
    expect(
      await metricValue(A().registry, 'sigil_witness_submissions_total', {
        witness: 'b.mesh/witness',
        result: 'conflict',
      }),
    ).toBe(1);
  });

  it('keeps logging when a witness is down, says why, and alarms below policy', async () => {
    const told: string[] = [];
    await A().client!.close();
    connect(A(), mesh, 2, A().log, (w, alarm) => told.push(`${w} ${alarm?.reason ?? 'cleared'}`));
    await mesh[2]!.stopWitness();
    await grow(A().log, 3);
    const r = await A().client!.witness(await A().log.checkpoints.make());
    expect(r.cosigners).toEqual(['a.mesh/witness', 'b.mesh/witness']);
    expect(r.policyMet).toBe(true);
    const c = A().client!.statuses()[2]!;
    expect(c.alarm?.reason).toBe('down');
    expect(c.alarm?.message).toMatch(/unreachable/);
    expect(
      await metricValue(A().registry, 'sigil_witness_alarm', { witness: 'c.mesh/witness', reason: 'down' }),
    ).toBe(1);
    await mesh[1]!.stopWitness();
    await grow(A().log, 1);
    const r2 = await A().client!.witness(await A().log.checkpoints.make());
    expect(r2.policyMet).toBe(false);
    expect(await metricValue(A().registry, 'sigil_witness_alarm', { witness: '*', reason: 'policy' })).toBe(
      1,
    );
    expect(() => verifyCosigned(r2.note, policy(A()))).toThrow(
      expect.objectContaining({ code: 'WITNESS_POLICY_UNMET' }),
    );
    expect(A().log.size).toBe(4); // the log kept appending throughout
    await A().client!.witness(await A().log.checkpoints.make()); // still down: no new alarm lines
    expect(told).toEqual(['c.mesh/witness down', 'b.mesh/witness down', '* policy']);
  });

  it('refuses to start over a log restored from an old backup', async () => {
    await grow(A().log, 10);
    await A().client!.witness(await A().log.checkpoints.make());
    await A().client!.close();
    await A().log.close();
    // The backup: data dir (ledger and witness client state) at size 10.
    const backup = join(root, 'backup');
    cpSync(A().dir, backup, { recursive: true });
    const reopened = await openLog(A().dir, 'a');
    extra.push(reopened);
    connect(A(), mesh, 2, reopened);
    await grow(reopened, 20);
    await A().client!.witness(await reopened.checkpoints.make());
    await A().client!.close();
    await reopened.close();
    rmSync(A().dir, { recursive: true });
    cpSync(backup, A().dir, { recursive: true });
    const restored = await openLog(A().dir, 'a');
    extra.push(restored);
    expect(restored.size).toBe(10);
    const client = connect(A(), mesh, 2, restored);
    const err = await client.checkStartup().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WitnessError);
    expect((err as WitnessError).code).toBe('WITNESS_ROLLBACK');
    expect((err as Error).message).toMatch(/cosigned size 30/);
    expect(
      await metricValue(A().registry, 'sigil_witness_alarm', {
        witness: 'b.mesh/witness',
        reason: 'rollback',
      }),
    ).toBe(1);
  });

  it('refuses to start over a local log that lost entries its own state file says were cosigned', async () => {
    await grow(A().log, 10);
    await A().client!.witness(await A().log.checkpoints.make());
    await A().client!.close();
    await A().log.close();
    rmSync(join(A().dir, 'ledger'), { recursive: true }); // the ledger is gone, the witness state stayed
    const fresh = await openLog(A().dir, 'a');
    extra.push(fresh);
    const err = await connect(A(), mesh, 2, fresh)
      .checkStartup()
      .catch((e: unknown) => e);
    expect((err as WitnessError).code).toBe('WITNESS_ROLLBACK');
  });

  it('refuses a second instance with the same key and a different history (fork)', async () => {
    await grow(A().log, 8, 'true');
    await A().client!.witness(await A().log.checkpoints.make());
    // A second instance: same checkpoint key, same origin, different entries, further ahead.
    const twinDir = join(root, 'twin');
    cpSync(join(A().dir, 'ledger', 'keys'), join(twinDir, 'ledger', 'keys'), { recursive: true });
    const twin = await openLog(twinDir, 'a');
    extra.push(twin);
    await grow(twin, 12, 'fake');
    expect(twin.checkpoints.verifierKey).toBe(A().log.checkpoints.verifierKey);
    const twinSide = { ...A(), dir: twinDir } as Sidecar;
    const client = connect(twinSide, mesh, 2, twin);
    const r = await client.witness(await twin.checkpoints.make());
    expect(r.cosigners).toEqual([]);
    expect(client.statuses().map((s) => s.alarm?.reason)).toEqual(['fork', 'fork', 'fork']);
    expect(
      await metricValue(A().registry, 'sigil_witness_refused_total', { origin: A().origin, status: '422' }),
    ).toBe(1);
    const err = await client.checkStartup().catch((e: unknown) => e);
    expect((err as WitnessError).code).toBe('WITNESS_ROLLBACK');
    // The witnesses still hold the true log's size and go on with it.
    for (const w of mesh) expect(w.service.sizes()[A().origin]).toBe(8);
    await grow(A().log, 1, 'true');
    expect((await A().client!.witness(await A().log.checkpoints.make())).cosigners).toHaveLength(3);
  });

  it('answers a replayed old checkpoint with 409 and the size it cosigned, and never rolls back', async () => {
    await grow(A().log, 4);
    const old = await A().log.checkpoints.make();
    await A().client!.witness(old);
    await grow(A().log, 4);
    await A().client!.witness(await A().log.checkpoints.make());
    const w = mesh[1]!;
    const r1 = await post(w, formatAddCheckpoint(4, [], old.note));
    expect(r1).toMatchObject({ status: 409, body: '8\n', type: 'text/x.tlog.size' });
    const r2 = await post(w, formatAddCheckpoint(8, [], old.note));
    expect(r2.status).toBe(400); // old above the checkpoint's size
    const r3 = await post(w, formatAddCheckpoint(0, [], old.note));
    expect(r3.status).toBe(409);
    expect(w.service.sizes()[A().origin]).toBe(8);
  });

  it('maps each protocol error to its status (tlog-witness §add-checkpoint)', async () => {
    await grow(A().log, 5);
    const cp = await A().log.checkpoints.make();
    const w = mesh[1]!;
    expect((await post(w, `old 01\n\n${cp.note}`)).status).toBe(400);
    expect((await post(w, formatAddCheckpoint(0, [new Uint8Array(32)], cp.note))).status).toBe(422);
    const unknown = cp.note.replace(A().origin, 'elsewhere/log');
    expect((await post(w, formatAddCheckpoint(0, [], unknown))).status).toBe(404);
    // Same origin, signature no longer over the text: 403.
    const altered = cp.note.replace(`\n${cp.size}\n`, `\n${cp.size + 1}\n`);
    expect((await post(w, formatAddCheckpoint(0, [], altered))).status).toBe(403);
    expect((await post(w, formatAddCheckpoint(0, [], cp.note))).status).toBe(200);
    // Wrong consistency proof from 5 to 6.
    await grow(A().log, 1);
    const cp6 = await A().log.checkpoints.make();
    const proof = A().log.consistencyProof(5, 6);
    proof[0] = new Uint8Array(32);
    expect((await post(w, formatAddCheckpoint(5, proof, cp6.note))).status).toBe(422);
    expect((await post(w, formatAddCheckpoint(5, A().log.consistencyProof(5, 6), cp6.note))).status).toBe(
      200,
    );
  });

  it('cosigns exactly one of many concurrent submissions from the same old size (atomic check and persist)', async () => {
    await grow(A().log, 4);
    await A().client!.witness(await A().log.checkpoints.make());
    const bodies: string[] = [];
    for (let i = 0; i < 12; i++) {
      await grow(A().log, 1);
      const cp = await A().log.checkpoints.make();
      bodies.push(formatAddCheckpoint(4, A().log.consistencyProof(4, cp.size), cp.note));
    }
    const rs = await Promise.all(bodies.map((b) => post(mesh[1]!, b)));
    const ok = rs.filter((r) => r.status === 200);
    expect(ok).toHaveLength(1);
    const won = mesh[1]!.service.sizes()[A().origin] as number;
    expect(rs.filter((r) => r.status === 409).map((r) => r.body)).toEqual(Array(11).fill(`${won}\n`));
    // A state file that cannot be written stops the witness: no cosignature without a durable record.
    const stateFile = join(mesh[1]!.dir, 'witness', 'witnessed.json');
    rmSync(stateFile);
    mkdirSync(stateFile);
    await grow(A().log, 1);
    const cp = await A().log.checkpoints.make();
    const body = formatAddCheckpoint(won, A().log.consistencyProof(won, cp.size), cp.note);
    expect((await post(mesh[1]!, body)).status).toBe(503);
    rmSync(stateFile, { recursive: true });
    expect(await post(mesh[1]!, body)).toMatchObject({
      status: 503,
      body: expect.stringMatching(/^WITNESS_IO/),
    });
  });

  it('rejects a forged cosignature, ignores unknown cosigners, and keeps its state across restarts', async () => {
    await grow(A().log, 3);
    const r = await A().client!.witness(await A().log.checkpoints.make());
    const lines = r.note.trimEnd().split('\n');
    const bLine = lines.findIndex((l) => l.startsWith('\u2014 b.mesh/witness '));
    const raw = b64decode(lines[bLine]!.split(' ')[2]!)!;
    raw[20] = (raw[20] as number) ^ 1;
    const forged = [
      ...lines.slice(0, bLine),
      `\u2014 b.mesh/witness ${b64encode(raw)}`,
      ...lines.slice(bLine + 1),
    ];
    expect(() => verifyCosigned(`${forged.join('\n')}\n`, policy(A()))).toThrow(
      expect.objectContaining({ code: 'WITNESS_COSIGNATURE_INVALID' }),
    );
    // A cosignature from a key nobody configured counts for nothing: 1 of 2 after dropping two real ones.
    const stranger = loadOrCreateCosigner(join(root, 'stranger.jwk'), 'b.mesh/witness');
    const { cosign } = await import('../../src/witness/index.js');
    const text = `${r.note.slice(0, r.note.indexOf('\n\n') + 1)}`;
    const onlyOne = `${r.note.split('\u2014 b.mesh')[0]}`.replace(/\u2014 a\.mesh\/witness .*\n/, '');
    const withStranger = `${onlyOne}${cosign(text, stranger, 1_700_000_000)}`;
    expect(() => verifyCosigned(withStranger, policy(A()))).toThrow(
      expect.objectContaining({ code: 'WITNESS_POLICY_UNMET' }),
    );
    // The witness state survives a restart, and a corrupt state file fails closed.
    const stateFile = join(mesh[1]!.dir, 'witness', 'witnessed.json');
    const again = new WitnessService({
      cosigner: loadOrCreateCosigner(join(mesh[1]!.dir, 'witness', 'cosigner.jwk'), 'b.mesh/witness'),
      logs: [],
      stateFile,
    });
    expect(again.sizes()[A().origin]).toBe(3);
    writeFileSync(stateFile, '{"format":"sigil-witness/v1","logs":');
    expect(() => new WitnessService({ cosigner: stranger, logs: [], stateFile })).toThrow(
      expect.objectContaining({ code: 'WITNESS_IO' }),
    );
  });
});
