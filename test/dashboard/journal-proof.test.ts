/**
 * With `durability: journal` a decision is answered before LMDB holds it; its receipt's proof is asked for
 * at once. The admin API commits it then and proves it, instead of answering "no entry".
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type AdminApiHandler, createAdminApi } from '../../src/admin/index.js';
import { type AdminServer, startAdminServer } from '../../src/admin/server.js';
import { leafHash, MerkleLog, openCheckpoint, verifyInclusion } from '../../src/ledger/index.js';
import { frozenClock } from '../../src/lib/clock.js';
import { record } from '../ledger/helpers.js';

const TOKEN = 'journal-proof-test-admin-token-abcdef';
let dir: string;
let log: MerkleLog;
let server: AdminServer;
let api: AdminApiHandler;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sigil-journal-proof-'));
  // LMDB's commit held back: only a settle (or 8192 entries) commits.
  log = await MerkleLog.open(join(dir, 'ledger'), { durability: 'journal', commitDelayMs: 600_000 });
  api = createAdminApi({
    adminToken: TOKEN,
    ledger: log,
    clock: frozenClock(Date.now()),
    dashboardDir: null,
  });
  server = await startAdminServer({ listen: '127.0.0.1:0', registry: new Registry(), isReady: () => true });
  server.mount(api);
});

afterAll(async () => {
  api?.close();
  await server?.close();
  await log?.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = async (path: string) => {
  const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
};

it('proves an answered decision LMDB does not hold yet; an index never assigned stays 404', async () => {
  for (let i = 0; i < 3; i++) await log.appendDecision(record(i));
  const { index, leafHash: receiptLeaf } = await log.appendDecision(record(3));
  expect(log.size).toBe(0);
  const { status, json } = await get(`/api/proof/${index}`);
  expect(status).toBe(200);
  const cp = openCheckpoint(json.checkpoint as string, log.checkpoints.verifierKey);
  const entry = new Uint8Array(Buffer.from(json.entry as string, 'base64'));
  expect(Buffer.from(leafHash(entry)).equals(Buffer.from(receiptLeaf))).toBe(true);
  const proof = (json.proof as string[]).map((h) => new Uint8Array(Buffer.from(h, 'base64')));
  expect(verifyInclusion(leafHash(entry), index, cp.size, proof, cp.root)).toBe(true);
  expect((await get('/api/proof/4')).status).toBe(404);
  await log.appendDecision(record(4));
  expect((await get('/api/proofs?indices=0,4')).status).toBe(200);
});

it('the newest page of decisions and the histogram read every answered decision, held or not', async () => {
  const ts = Date.now() - 60_000; // inside the histogram's default hour before the (frozen) clock
  const appended: number[] = [];
  for (let i = 0; i < 3; i++)
    appended.push((await log.appendDecision(record(20 + i, { ts, decision: 'allow' }))).index);
  expect(log.size).toBeLessThanOrEqual(appended[0] as number); // answered from the journal alone
  const page = await get('/api/decisions?limit=10');
  expect(page.status).toBe(200);
  expect((page.json.items as { index: number }[]).map((i) => i.index).slice(0, 3)).toEqual(
    [...appended].reverse(),
  );
  expect(page.json.size).toBe((appended.at(-1) as number) + 1);
  await log.appendDecision(record(23, { ts, decision: 'allow' }));
  const h = await get('/api/decisions/histogram?buckets=1');
  expect(h.status).toBe(200);
  expect((h.json.total as { allow: number }).allow).toBe(4);
});
