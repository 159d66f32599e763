/**
 * Issue #18 item 4: a flood of denies without a verified token must be cheap to store and unable to fill the
 * disk that allows depend on. In process, with the real pipeline (checkFromConfig), a real LMDB ledger in a tmp
 * dir and the sink `sigil serve` wires (auditIntake); only the disk's free space is injected where a test needs
 * a full disk.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { CheckRequest, CheckResponse } from '../../gen/envoy/service/auth/v3/external_auth_pb.js';
import { createMetrics } from '../../src/admin/index.js';
import { loadConfig } from '../../src/config/index.js';
import { type DecisionRecord, MerkleLog } from '../../src/ledger/index.js';
import { verifyLog } from '../../src/ledger/verify-log.js';
import { auditIntake } from '../../src/serve/audit-intake.js';
import { checkFromConfig } from '../../src/serve/check-from-config.js';
import { DiskGuard, type DiskProbe, statfsProbe } from '../../src/serve/disk-guard.js';
import { ledgerSink } from '../../src/serve/ledger-sink.js';
import { openAuditLog } from '../../src/serve/open-audit-log.js';
import { UnauthenticatedDenies } from '../../src/serve/unauthenticated-denies.js';
import { checkRequest, deniedOf, headerRecord, okOf } from '../support/check-request.js';
import { testIdentity } from '../support/identity.js';

const SELF = 'spiffe://sigil.mesh/agent/tools/flood';
const GiB = 2 ** 30;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A pipeline + real ledger + the serve sink; `probe` replaces statfs when given. */
async function stack(audit: Record<string, unknown>, probe?: DiskProbe) {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-flood-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const config = loadConfig({
    env: {},
    overrides: {
      data_dir: dir,
      agent: { spiffe_id: SELF },
      authz: { routes: [{ method: 'POST', path: '/tools/{name}', tool: '{name}' }] },
      audit: { checkpoint_interval: 0, ...audit },
    },
  });
  const log = await openAuditLog(config);
  cleanups.push(() => log.close());
  const metrics = createMetrics({ processMetrics: false });
  const lines: Array<{ level: number; msg: string } & Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
  const intake = auditIntake(config, log, {
    metrics,
    logger,
    guardIntervalMs: 0,
    ...(probe ? { probe } : {}),
  });
  cleanups.push(() => intake.close());
  const id = testIdentity();
  const { check } = checkFromConfig(config, { trust: id.trust, ledger: intake.sink });
  /** The Prometheus text of one sample, as a number (0 when absent). */
  const metric = async (line: string): Promise<number> => {
    const text = await metrics.registry.metrics();
    const esc = line.replace(/[{}"=.*+?^$()|[\]\\]/g, '\\$&');
    const m = new RegExp(`^${esc} (\\S+)$`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  };
  return { config, log, intake, check, id, lines, metric };
}

/** A Check of `POST /tools/fs.read` from `ip` (Envoy's attributes.source), with `token` if given. */
function from(ip: string, token?: string): CheckRequest {
  const r = checkRequest({ method: 'POST', path: '/tools/fs.read' }, token);
  const a = r.attributes!.source!.address!.address;
  if (a.case === 'socketAddress') a.value.address = ip;
  return r;
}

const receiptOf = (res: CheckResponse): string | undefined => {
  const ok = okOf(res);
  const list = ok ? ok.responseHeadersToAdd : (deniedOf(res)?.headers ?? []);
  return headerRecord(list)['x-sigil-receipt'];
};
const decisionIdOf = (res: CheckResponse) =>
  headerRecord(deniedOf(res)?.headers ?? okOf(res)?.responseHeadersToAdd ?? [])['x-sigil-decision-id'];

/** The log's records from `from`, once every append answered so far is in it (the journal commits behind). */
async function entries(log: MerkleLog, from = 0): Promise<DecisionRecord[]> {
  await log.settled();
  const out: DecisionRecord[] = [];
  for (let i = from; i < log.size; i++) out.push(log.decision(i));
  return out;
}

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sum = (rs: DecisionRecord[]) => rs.reduce((n, r) => n + (r.count ?? 1), 0);

describe('unauthenticated denies: aggregated per source, code and window', () => {
  it('10,000 tokenless Checks from 3 sources over 2 windows: a handful of entries whose counts sum to 10,000', async () => {
    const s = await stack({ unauthenticated: { window_ms: 400 } });
    const SOURCES = ['198.51.100.1', '198.51.100.2', '2001:db8::3'];
    const ids = new Set<string>();
    const burst = async (n: number, offset: number) => {
      const answers = await Promise.all(
        Array.from({ length: n }, (_, i) => s.check(from(SOURCES[(offset + i) % 3]!))),
      );
      for (const a of answers) {
        expect(deniedOf(a)?.status?.code).toBe(401);
        expect(JSON.parse(deniedOf(a)!.body).code).toBe('AUTHZ_NO_TOKEN');
        // No receipt: the deny is answered before (and without) a durable commit.
        expect(receiptOf(a)).toBeUndefined();
        ids.add(decisionIdOf(a)!);
      }
    };
    await burst(5000, 0);
    // Answered, and nothing appended yet: the window is still open.
    expect(s.log.size + s.log.pending).toBe(0);
    expect(s.intake.denies.openKeys).toBe(3);
    await until(() => s.log.size >= 3 && s.log.pending === 0 && s.intake.denies.openKeys === 0);
    const firstWindow = s.log.size;
    await burst(5000, 5000);
    await until(() => s.log.size > firstWindow && s.log.pending === 0 && s.intake.denies.openKeys === 0);

    const all = await entries(s.log);
    // One entry per source per window (a burst that straddles a window boundary adds at most one per source).
    expect(all.length).toBeGreaterThanOrEqual(6);
    expect(all.length).toBeLessThanOrEqual(12);
    expect(sum(all)).toBe(10_000);
    const bySource = new Map<string, number>();
    for (const r of all) {
      expect(r).toMatchObject({
        kind: 'aggregate',
        decision: 'deny',
        code: 'AUTHZ_NO_TOKEN',
        http_status: 401,
        window_ms: 400,
        method: 'POST',
        path: '/tools/fs.read',
      });
      expect(r.last_ts).toBeGreaterThanOrEqual(r.ts);
      expect(ids.has(r.id)).toBe(true); // the sample's own decision id
      expect(r.sub ?? r.token_hash ?? r.chain).toBeUndefined();
      bySource.set(r.source!, (bySource.get(r.source!) ?? 0) + r.count!);
    }
    expect(Object.fromEntries(bySource)).toEqual({
      '198.51.100.1': 3334,
      '198.51.100.2': 3333,
      '2001:db8::3': 3333,
    });
    expect(await s.metric('sigil_unauthenticated_denies_total{code="AUTHZ_NO_TOKEN"}')).toBe(10_000);
    expect(await s.metric('sigil_ledger_aggregate_entries_total{kind="aggregate"}')).toBe(all.length);
    expect(await s.metric('sigil_ledger_aggregate_entries_total{kind="dropped"}')).toBe(0);
    expect(await s.metric('sigil_unauthenticated_denies_dropped_total{reason="disk_low"}')).toBe(0);
    expect(await s.metric('sigil_ledger_disk_low')).toBe(0);
    expect(await s.metric('sigil_ledger_disk_free_bytes')).toBeGreaterThan(0);
    expect(verifyLog(s.log)).toMatchObject({ ok: true, size: all.length });
  }, 60_000);

  it('garbage and forged tokens are aggregated too; every decision of a verified token stays one durable entry', async () => {
    const s = await stack({ unauthenticated: { window_ms: 60_000 } });
    const good = s.id.mint({ scope: ['fs.read'] }).token;
    const narrow = s.id.mint({ scope: ['web.search'] }).token;
    const forged = testIdentity().mint({ scope: ['fs.read'] }).token; // signed by a key nobody trusts
    const answers = await Promise.all([
      ...Array.from({ length: 50 }, () => s.check(from('192.0.2.9', 'not-a-jwt'))),
      ...Array.from({ length: 50 }, () => s.check(from('192.0.2.9', forged))),
      s.check(from('192.0.2.9', good)),
      s.check(from('192.0.2.9', narrow)),
    ]);
    const [allow, scopeDeny] = answers.slice(100);
    expect(okOf(allow!)).toBeDefined();
    expect(receiptOf(allow!)).toMatch(/^index=\d+; leaf=/);
    expect(JSON.parse(deniedOf(scopeDeny!)!.body).code).toBe('AUTHZ_TOOL_NOT_IN_SCOPE');
    expect(receiptOf(scopeDeny!)).toMatch(/^index=\d+; leaf=/);
    for (const a of answers.slice(0, 100)) expect(receiptOf(a)).toBeUndefined();
    // Before the window ends only the two verified decisions are in the ledger, each a plain record.
    expect((await entries(s.log)).map((r) => [r.kind, r.code])).toEqual([
      [undefined, 'OK'],
      [undefined, 'AUTHZ_TOOL_NOT_IN_SCOPE'],
    ]);
    await s.intake.denies.flush();
    const counted = await entries(s.log, 2);
    expect(counted).toHaveLength(2);
    expect(counted.every((r) => r.kind === 'aggregate' && r.source === '192.0.2.9' && r.count === 50)).toBe(
      true,
    );
    expect(new Set(counted.map((r) => r.code)).size).toBe(2);
    for (const r of counted) expect(r.code).toMatch(/^TBIT_/);
  });

  it('the key bound holds: past max_keys further sources share the source "*", counts stay exact', async () => {
    const s = await stack({ unauthenticated: { window_ms: 60_000, max_keys: 8 } });
    let most = 0;
    const calls: Promise<CheckResponse>[] = [];
    for (let i = 0; i < 1000; i++) {
      calls.push(s.check(from(`10.0.${i % 100}.1`)));
      most = Math.max(most, s.intake.denies.openKeys);
    }
    await Promise.all(calls);
    most = Math.max(most, s.intake.denies.openKeys);
    expect(most).toBe(9);
    await s.intake.denies.flush();
    const all = await entries(s.log);
    expect(all).toHaveLength(9);
    expect(sum(all)).toBe(1000);
    expect(all.filter((r) => r.source !== '*').map((r) => r.count)).toEqual(Array(8).fill(10));
    expect(all.find((r) => r.source === '*')?.count).toBe(920);
  });

  it('codes are bounded too: many sources × many codes keep at most max_keys + 65 aggregates', async () => {
    const s = await stack({ unauthenticated: { window_ms: 60_000, max_keys: 4 } });
    let ts = 1_767_225_600_000;
    for (let i = 0; i < 10_000; i++) {
      const r: DecisionRecord = {
        v: 1,
        id: `d${i}`,
        ts: ts++,
        decision: 'deny',
        code: `POLICY_C${i % 100}`,
        http_status: 403,
      };
      s.intake.denies.add(r, `10.1.${i % 250}.1`);
      expect(s.intake.denies.openKeys).toBeLessThanOrEqual(4 + 65);
    }
    await s.intake.denies.flush();
    const all = await entries(s.log);
    expect(all.length).toBe(4 + 65);
    expect(sum(all)).toBe(10_000);
    expect(all.filter((r) => r.code === '*')).toHaveLength(1);
  });
});

describe('a failed append', () => {
  it('puts the window into the dropped tally; the next writable window records it as a dropped entry', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sigil-flood-fail-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    // A real ledger, closed under the aggregator (LEDGER_CLOSED), then reopened.
    let log = await MerkleLog.open(dir);
    await log.close();
    const failures: Array<[string, number]> = [];
    const denies = new UnauthenticatedDenies({
      windowMs: 60_000,
      maxKeys: 16,
      write: (r) => log.appendDecision(r),
      observer: { failed: (e, n) => failures.push([(e as { code: string }).code, n]) },
    });
    const deny = (i: number, code: string): DecisionRecord => ({
      v: 1,
      id: `d${i}`,
      ts: 1_767_225_600_000 + i,
      decision: 'deny',
      code,
      http_status: 401,
    });
    for (let i = 0; i < 30; i++)
      denies.add(deny(i, i % 3 ? 'AUTHZ_NO_TOKEN' : 'TBIT_MALFORMED'), `10.9.0.${i % 2}`);
    await denies.flush();
    expect(failures.reduce((n, [, c]) => n + c, 0)).toBe(30);
    expect(new Set(failures.map(([c]) => c))).toEqual(new Set(['LEDGER_CLOSED']));
    expect(denies.droppedPending).toBe(30);
    log = await MerkleLog.open(dir);
    cleanups.push(() => log.close());
    denies.add(deny(99, 'AUTHZ_NO_TOKEN'), '10.9.0.1');
    await denies.flush();
    const all = await entries(log);
    expect(all.map((r) => [r.kind, r.code, r.count])).toEqual([
      ['dropped', 'TBIT_MALFORMED', 10],
      ['dropped', 'AUTHZ_NO_TOKEN', 20],
      ['aggregate', 'AUTHZ_NO_TOKEN', 1],
    ]);
    expect(all[0]).toMatchObject({ ts: 1_767_225_600_000, last_ts: 1_767_225_600_027 });
    expect(denies.droppedPending).toBe(0);
  });
});

describe('the disk guard', () => {
  it('below the reserve: allows stay durable, unauthenticated denies are only counted; the dropped entry comes back with the space', async () => {
    let free = 10 * GiB;
    const probe: DiskProbe = () => ({ free, size: 100 * GiB });
    const s = await stack({ unauthenticated: { window_ms: 60_000 }, min_free_bytes: '1GiB' }, probe);
    expect(await s.metric('sigil_ledger_disk_low')).toBe(0);
    expect(await s.metric('sigil_ledger_disk_free_bytes')).toBe(10 * GiB);

    free = 100 * 2 ** 20;
    expect(s.intake.guard.check()).toBe(true);
    expect(await s.metric('sigil_ledger_disk_low')).toBe(1);
    expect(await s.metric('sigil_ledger_disk_free_bytes')).toBe(free);
    const good = s.id.mint({ scope: ['fs.read'] }).token;
    const answers = await Promise.all([
      ...Array.from({ length: 500 }, (_, i) => s.check(from(`203.0.113.${i % 7}`))),
      ...Array.from({ length: 20 }, () => s.check(from('203.0.113.50', good))),
    ]);
    const allows = answers.slice(500);
    for (const a of allows) expect(receiptOf(a)).toMatch(/^index=\d+; leaf=/);
    await s.intake.denies.flush();
    s.intake.guard.check();
    for (let i = 0; i < 100; i++) await s.check(from('203.0.113.1'));
    await s.intake.denies.flush();
    // Only the 20 allows were written, one durable entry each.
    expect((await entries(s.log)).length).toBe(20);
    expect((await entries(s.log)).map((r) => r.id)).toEqual(allows.map(decisionIdOf));
    expect(await s.metric('sigil_unauthenticated_denies_dropped_total{reason="disk_low"}')).toBe(600);
    expect(await s.metric('sigil_unauthenticated_denies_total{code="AUTHZ_NO_TOKEN"}')).toBe(600);
    expect(await s.metric('sigil_ledger_aggregate_entries_total{kind="aggregate"}')).toBe(0);
    const low = s.lines.filter((l) => /below sigil\.audit\.min_free_bytes/.test(l.msg));
    expect(low).toHaveLength(1); // one warning per transition, not per request or window
    expect(low[0]).toMatchObject({ level: 40, free_bytes: free, min_free_bytes: GiB });

    free = 5 * GiB;
    expect(s.intake.guard.check()).toBe(false); // recovery flushes the dropped tally
    await s.intake.denies.flush();
    const after = await entries(s.log, 20);
    expect(after).toEqual([
      expect.objectContaining({ kind: 'dropped', code: 'AUTHZ_NO_TOKEN', http_status: 401, count: 600 }),
    ]);
    expect(after[0]!.last_ts).toBeGreaterThanOrEqual(after[0]!.ts);
    expect(await s.metric('sigil_ledger_disk_low')).toBe(0);
    expect(await s.metric('sigil_ledger_aggregate_entries_total{kind="dropped"}')).toBe(1);
    expect(s.lines.filter((l) => /back above/.test(l.msg))).toEqual([
      expect.objectContaining({ level: 40, dropped: 600 }),
    ]);
    // Windows after the recovery are aggregated again.
    await s.check(from('203.0.113.1'));
    await s.intake.denies.flush();
    expect(await entries(s.log, 21)).toEqual([expect.objectContaining({ kind: 'aggregate', count: 1 })]);
    expect(verifyLog(s.log)).toMatchObject({ ok: true, size: 22 });
  });

  it('a percentage reserve is a share of the filesystem size', async () => {
    let free = 6 * GiB;
    const s = await stack({ min_free_bytes: '5%' }, () => ({ free, size: 100 * GiB }));
    expect(s.intake.guard.low).toBe(false);
    expect(s.intake.guard.reserve).toBe(5 * GiB);
    free = 5 * GiB - 1;
    expect(s.intake.guard.check()).toBe(true);
  });

  it('the real probe (statfs) returns sane numbers for the tmp dir, and drives the guard', () => {
    const { free, size } = statfsProbe(tmpdir());
    expect(Number.isSafeInteger(free) && Number.isSafeInteger(size)).toBe(true);
    expect(free).toBeGreaterThan(0);
    expect(size).toBeGreaterThan(free);
    const changes: boolean[] = [];
    const roomy = new DiskGuard({ dir: tmpdir(), reserve: { bytes: 1 }, intervalMs: 0 });
    expect(roomy.check()).toBe(false);
    expect(roomy.free).toBeGreaterThan(0);
    const full = new DiskGuard({
      dir: tmpdir(),
      reserve: { bytes: size + 1 },
      intervalMs: 0,
      onChange: (low) => changes.push(low),
    });
    expect(full.check()).toBe(true);
    expect(full.check()).toBe(true);
    expect(changes).toEqual([true]);
  });

  it('a probe that fails counts as low (fail closed for the unauthenticated channel) and is reported once', () => {
    const reports: Array<{ low: boolean; error?: unknown }> = [];
    const g = new DiskGuard({
      dir: join(tmpdir(), 'sigil-no-such-dir', 'x'),
      reserve: { bytes: 1 },
      intervalMs: 0,
      onChange: (low, st) => reports.push({ low, error: st.error }),
    });
    expect(g.check()).toBe(true);
    expect(g.check()).toBe(true);
    expect(Number.isNaN(g.free)).toBe(true);
    expect(reports).toHaveLength(1);
    expect(reports[0]!.low).toBe(true);
    expect((reports[0]!.error as NodeJS.ErrnoException).code).toBe('ENOENT');
  });

  it('sigil.audit.min_free_bytes and the window are validated at start-up with the key name', () => {
    for (const [audit, key] of [
      [{ min_free_bytes: 'lots' }, 'sigil.audit.min_free_bytes'],
      [{ min_free_bytes: '150%' }, 'sigil.audit.min_free_bytes'],
      [{ unauthenticated: { window_ms: 0 } }, 'sigil.audit.unauthenticated.window_ms'],
      [{ unauthenticated: { max_keys: 0 } }, 'sigil.audit.unauthenticated.max_keys'],
    ] as const) {
      expect(() => loadConfig({ env: {}, overrides: { audit } })).toThrow(
        expect.objectContaining({
          code: 'CONFIG_INVALID',
          message: expect.stringContaining(`config ${key}:`),
        }),
      );
    }
    const c = loadConfig({ env: { SIGIL__AUDIT__MIN_FREE_BYTES: '2GiB' } });
    expect(c.audit.min_free_bytes).toEqual({ bytes: 2 * GiB });
    expect(loadConfig({ env: {} }).audit.min_free_bytes).toEqual({ bytes: 256 * 2 ** 20 });
  });

  it('close() writes the last open window', async () => {
    const s = await stack({ unauthenticated: { window_ms: 60_000 } });
    await Promise.all(Array.from({ length: 30 }, () => s.check(from('192.0.2.1'))));
    expect(s.log.size).toBe(0);
    await s.intake.close();
    expect(await entries(s.log)).toEqual([expect.objectContaining({ kind: 'aggregate', count: 30 })]);
  });
});

/** A hand-made compact JWS with `header` and `claims` and a zero signature: well-formed, never valid. */
function handMade(header: unknown, claims: unknown): string {
  const b = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
  return `${b(header)}.${b(claims)}.${Buffer.alloc(64).toString('base64url')}`;
}

describe('what an unverified token claimed (issue #24): recorded apart, marked unverified', () => {
  const CLAIMED = 'spiffe://x/agent/a/1';
  const codeOf = (res: CheckResponse): string => JSON.parse(deniedOf(res)!.body).code;

  it('a forged-signature token claiming an agent and task: same deny, one entry with claimed {sub, task_id} and no verified identity', async () => {
    const s = await stack({ unauthenticated: { window_ms: 60_000 } });
    // Single entries: the sink without aggregation (every deny its own durable entry).
    const { check } = checkFromConfig(s.config, { trust: s.id.trust, ledger: ledgerSink(s.log, 'test') });
    const forger = testIdentity(); // same kid as the trusted issuer, a key nobody trusts
    const forged = forger.mint({ sub: CLAIMED, task: 'T', scope: ['fs.read'] }).token;
    const res = await check(from('192.0.2.1', forged));
    expect(deniedOf(res)?.status?.code).toBe(401);
    expect(codeOf(res)).toBe('TBIT_BAD_SIGNATURE');
    const [r] = await entries(s.log);
    expect(r).toMatchObject({
      v: 2,
      decision: 'deny',
      code: 'TBIT_BAD_SIGNATURE',
      claimed: {
        verified: false,
        sub: CLAIMED,
        task_id: 'T',
        kid: forger.kid,
        iss: 'spiffe://sigil.mesh/sigil/issuer',
      },
    });
    for (const k of ['sub', 'task_id', 'token_hash', 'chain', 'depth', 'pop'] as const)
      expect(r![k]).toBeUndefined();
    // Never the token or its signature: only the four claims above.
    const stored = new TextDecoder().decode(s.log.entry(0));
    expect(stored).not.toContain(forged.split('.')[2]);
    expect(Object.keys(r!.claimed!).sort()).toEqual(['iss', 'kid', 'sub', 'task_id', 'verified']);
    expect(verifyLog(s.log)).toMatchObject({ ok: true, size: 1 });
  });

  it('garbage, oversized and invalid claims are dropped; the decision is unchanged', async () => {
    const s = await stack({ unauthenticated: { window_ms: 60_000 } });
    const { check } = checkFromConfig(s.config, { trust: s.id.trust, ledger: ledgerSink(s.log, 'test') });
    const h = { alg: 'EdDSA', typ: 'tbit+jwt', kid: s.id.kid };
    const noKid = { alg: 'EdDSA', typ: 'tbit+jwt' };
    const cases: Array<[string, string]> = [
      ['TBIT_MALFORMED', 'not-a-jwt'],
      // Well-formed claims, but the token is over the size cap: not even decoded.
      ['TBIT_TOO_LARGE', handMade(h, { sub: CLAIMED, task_id: 'T', pad: 'p'.repeat(17_000) })],
      ['TBIT_HEADER_REJECTED', handMade(noKid, { sub: 'admin', task_id: 't'.repeat(129) })],
      [
        'TBIT_HEADER_REJECTED',
        handMade({ ...h, kid: 'k'.repeat(300) }, { sub: `spiffe://x/${'a'.repeat(600)}` }),
      ],
      [
        'TBIT_HEADER_REJECTED',
        handMade(noKid, { task_id: handMade(h, {}).slice(0, 120), sub: 42, iss: 'x' }),
      ],
      ['TBIT_MALFORMED', handMade({ ...noKid, kid: 'a b' }, '[1,2]')],
    ];
    for (const [code, token] of cases) {
      const res = await check(from('192.0.2.2', token));
      expect(deniedOf(res)?.status?.code).toBe(401);
      expect(codeOf(res)).toBe(code);
    }
    const got = await entries(s.log);
    expect(got).toHaveLength(cases.length);
    for (const [i, r] of got.entries()) {
      expect(r.code, `case ${i}`).toBe(cases[i]![0]);
      expect(r.claimed, `case ${i}`).toBeUndefined();
      expect(r.v).toBe(1);
    }
    // The same token with a well-formed claim: same code, and now a claim.
    const ok = await check(from('192.0.2.2', handMade(noKid, { sub: CLAIMED })));
    const bad = await check(from('192.0.2.2', handMade(noKid, { sub: 'admin' })));
    expect(codeOf(ok)).toBe(codeOf(bad));
    const [withClaim, without] = await entries(s.log, cases.length);
    expect(withClaim!.claimed).toEqual({ verified: false, sub: CLAIMED });
    expect(without!.claimed).toBeUndefined();
  });

  it('aggregates keep at most 8 distinct claimed identities with counts; the rest are claimed_other', async () => {
    const s = await stack({ unauthenticated: { window_ms: 60_000 } });
    const forger = testIdentity();
    const calls: Promise<CheckResponse>[] = [];
    // 20 agents claimed, agent 0 three times as often; 10 tokenless denies claim nothing.
    for (let i = 0; i < 20; i++) {
      const n = i === 0 ? 3 : 1;
      const t = forger.mint({ sub: `spiffe://x/agent/a/${i}`, task: 'T', scope: ['fs.read'] }).token;
      for (let j = 0; j < n; j++) calls.push(s.check(from('192.0.2.3', t)));
    }
    for (let i = 0; i < 10; i++) calls.push(s.check(from('192.0.2.3')));
    for (const res of await Promise.all(calls)) expect(deniedOf(res)?.status?.code).toBe(401);
    await s.intake.denies.flush();
    const all = await entries(s.log);
    const sig = all.find((r) => r.code === 'TBIT_BAD_SIGNATURE')!;
    const none = all.find((r) => r.code === 'AUTHZ_NO_TOKEN')!;
    expect(sig).toMatchObject({ v: 2, kind: 'aggregate', count: 22 });
    const list = sig.claimed as Array<{ sub: string; count: number }>;
    expect(list).toHaveLength(8);
    expect(new Set(list.map((c) => c.sub)).size).toBe(8);
    expect(list.find((c) => c.sub === 'spiffe://x/agent/a/0')?.count).toBe(3);
    expect(list.reduce((n, c) => n + c.count, 0) + sig.claimed_other!).toBe(22);
    expect(sig.claimed_other).toBe(12);
    expect(sig.sub ?? sig.task_id ?? sig.token_hash).toBeUndefined();
    expect(none).toMatchObject({ v: 1, kind: 'aggregate', count: 10 });
    expect(none.claimed ?? none.claimed_other).toBeUndefined();
    expect(verifyLog(s.log)).toMatchObject({ ok: true, size: all.length });
  });
});
