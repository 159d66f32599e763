/**
 * Decision records from a Check worker to the primary as canonical bytes (src/serve/workers/record-batch.ts),
 * over a real MessageChannel (the structured clone algorithm, as node:cluster's `serialization: 'advanced'`)
 * into a real LMDB ledger: one message per turn each way, receipts that name the stored entry, unauthenticated
 * denies aggregated, and whatever a buggy worker could send refused with a stable code and nothing appended.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeRecord, MerkleLog } from '../../src/ledger/index.js';
import type { DecisionRecord } from '../../src/ledger/record.js';
import { receiptText } from '../../src/serve/ledger-sink.js';
import { UnauthenticatedDenies } from '../../src/serve/unauthenticated-denies.js';
import { WorkersError } from '../../src/serve/workers/errors.js';
import { IpcChannel, type IpcHandler } from '../../src/serve/workers/ipc.js';
import {
  appendBatch,
  decodeBatch,
  RecordBatcher,
  type RecordIntake,
} from '../../src/serve/workers/record-batch.js';
import { bytesOf, record, tempDir } from '../ledger/helpers.js';

const ORIGIN = 'workers.test/audit';
let t: { dir: string; cleanup: () => void };
let log: MerkleLog;
let denies: UnauthenticatedDenies;
const ports: MessagePort[] = [];

beforeEach(async () => {
  t = tempDir();
  log = await MerkleLog.open(t.dir, { origin: ORIGIN });
  denies = new UnauthenticatedDenies({ windowMs: 60_000, maxKeys: 100, write: (r) => log.appendDecision(r) });
});
afterEach(async () => {
  for (const p of ports.splice(0)) p.close();
  await denies.close();
  await log.close();
  t.cleanup();
});

/** A worker's batcher wired to a primary's `append` handler over a MessageChannel; counts messages each way. */
function wire(handler: IpcHandler = (p) => appendBatch({ log, denies }, p)) {
  const { port1, port2 } = new MessageChannel();
  ports.push(port1, port2);
  const sent = { worker: 0, primary: 0 };
  const asPort = (p: MessagePort, side: 'worker' | 'primary') => ({
    send(m: unknown) {
      sent[side]++;
      p.postMessage(m);
    },
    on: (_: 'message', l: (m: unknown) => void) => p.on('message', l),
    off: (_: 'message', l: (m: unknown) => void) => p.off('message', l),
  });
  const worker = new IpcChannel(asPort(port1, 'worker'), {});
  new IpcChannel(asPort(port2, 'primary'), { append: handler });
  const batcher = new RecordBatcher((build) => worker.callAtFlush('append', build), ORIGIN);
  return { batcher, sent };
}

/** Packs records the way a worker does, without its encoder: [flags, u32 length, bytes] each. */
function frame(...entries: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(entries.reduce((n, e) => n + 5 + e.length, 0));
  let o = 0;
  for (const e of entries) {
    out[o] = 1; // verified
    new DataView(out.buffer).setUint32(o + 1, e.length);
    out.set(e, o + 5);
    o += 5 + e.length;
  }
  return out;
}

const errCode = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(WorkersError);
    const w = e as WorkersError;
    return w.code === 'WORKERS_REMOTE_FAILED' ? `remote:${w.remoteCode}` : w.code;
  }
  return 'resolved';
};

describe('records from Check workers', () => {
  it('one turn is one message each way; each receipt names its stored entry, bytes as encoded', async () => {
    const { batcher, sent } = wire();
    const recs = Array.from({ length: 40 }, (_, i) =>
      record(i, { decision: 'allow', code: 'OK', http_status: 200 }),
    );
    const receipts = await Promise.all(recs.map((r) => batcher.append(r, true, '10.0.0.1')));
    expect(sent).toEqual({ worker: 1, primary: 1 });
    expect(log.size).toBe(40);
    receipts.forEach((r, i) => {
      expect(r?.index).toBe(i);
      expect(r?.receipt).toBe(receiptText(i, log.leafHashAt(i), ORIGIN));
      expect(Buffer.from(log.entry(i)).equals(Buffer.from(encodeRecord(recs[i] as DecisionRecord)))).toBe(
        true,
      );
    });
    expect(log.query({ task: 'task-3' }).map((h) => h.index)).toEqual([3, 8, 13, 18, 23, 28, 33, 38]);
  });

  it('an unauthenticated deny is aggregated, not appended; an unverified allow and a verified deny are', async () => {
    const { batcher } = wire();
    const deny = record(0, { sub: undefined, task_id: undefined, chain: undefined, depth: undefined });
    const [a, b, c] = await Promise.all([
      batcher.append(deny, false, '10.0.0.9'),
      batcher.append(record(1), false, '10.0.0.9'),
      batcher.append(record(3), true, undefined),
    ]);
    expect(a).toBeUndefined();
    expect([b?.index, c?.index]).toEqual([0, 1]);
    expect(log.size).toBe(2);
    await denies.flush();
    expect(log.record(2)).toMatchObject({
      kind: 'aggregate',
      count: 1,
      source: '10.0.0.9',
      code: 'TBIT_EXPIRED',
    });
  });

  it('bytes that are not a canonical valid record are refused with LEDGER_RECORD_INVALID, nothing appended for them', async () => {
    const good = encodeRecord(record(1));
    const canonical = new TextDecoder().decode(good);
    const answer = await appendBatch(
      { log, denies },
      frame(
        good,
        bytesOf(`${canonical} `),
        bytesOf(canonical.replace('"decision":"allow"', '"decision":"maybe"')),
        new Uint8Array([0xc3, 0x28]),
        good,
      ),
    );
    const { batcher } = wire(() => answer);
    const out = await Promise.allSettled(
      [1, 2, 3, 4, 5].map((i) => batcher.append(record(i), true, undefined)),
    );
    expect(out.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'rejected', 'fulfilled']);
    for (const o of out.slice(1, 4))
      expect((o as PromiseRejectedResult).reason).toMatchObject({
        code: 'WORKERS_REMOTE_FAILED',
        remoteCode: 'LEDGER_RECORD_INVALID',
      });
    expect(log.size).toBe(2);
    expect(Buffer.from(log.entry(1)).equals(Buffer.from(good))).toBe(true);
  });

  it('a batch whose framing does not parse is refused whole (WORKERS_BAD_MESSAGE) before anything is appended', async () => {
    const good = frame(encodeRecord(record(1)), encodeRecord(record(2)));
    const malformed: unknown[] = [
      good.subarray(0, good.length - 1), // truncated record
      Uint8Array.of(...good, 1, 0, 0), // truncated length
      Uint8Array.of(...good, 4, 0, 0, 0, 0), // unknown flag
      Uint8Array.of(3, 0, 2, 0xff, 0xff, 0, 0, 0, 0), // source not UTF-8
      [good],
      'a string',
    ];
    const intake: RecordIntake = { log, denies };
    for (const m of malformed) expect(await errCode(appendBatch(intake, m))).toBe('WORKERS_BAD_MESSAGE');
    expect(log.size).toBe(0);
  });

  it('an answer that does not parse fails every record of the batch closed', async () => {
    for (const bad of [
      new Uint8Array(3),
      Uint8Array.of(0, ...new Uint8Array(40)),
      { receipts: [] },
      Uint8Array.of(1, 1, 1),
    ]) {
      const { batcher } = wire(() => bad);
      const out = await Promise.allSettled([
        batcher.append(record(1), true, undefined),
        batcher.append(record(2), true, undefined),
      ]);
      expect(out.map((o) => o.status)).toEqual(['rejected', 'rejected']);
      expect((out[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'WORKERS_BAD_MESSAGE' });
    }
  });

  it('a closed channel fails every record closed, also those appended after it closed', async () => {
    const ch = new IpcChannel({ send: () => {}, on: () => {}, off: () => {} }, {});
    const b = new RecordBatcher((build) => ch.callAtFlush('append', build), ORIGIN);
    const first = b.append(record(1), true, undefined);
    ch.close('the primary disconnected');
    expect(await errCode(first)).toBe('WORKERS_CHANNEL_CLOSED');
    expect(await errCode(b.append(record(2), true, undefined))).toBe('WORKERS_CHANNEL_CLOSED');
    expect(await errCode(b.append(record(3), true, undefined))).toBe('WORKERS_CHANNEL_CLOSED');
  });

  it('a record that does not encode is refused in the worker: nothing is sent', async () => {
    const { batcher, sent } = wire();
    await expect(batcher.append({ ...record(1), code: '' }, true, undefined)).rejects.toMatchObject({
      code: 'LEDGER_RECORD_INVALID',
    });
    await new Promise((r) => setImmediate(r));
    expect(sent.worker).toBe(0);
  });

  it('the batch codec keeps every record, flag and source (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.integer({ min: 0, max: 50 }), fc.boolean(), fc.option(fc.string(), { nil: undefined })),
          { minLength: 1, maxLength: 20 },
        ),
        (xs) => {
          let build: (() => Uint8Array) | undefined;
          const b = new RecordBatcher((f) => {
            build = f;
            return new Promise(() => {});
          }, ORIGIN);
          for (const [i, verified, source] of xs) void b.append(record(i), verified, source);
          const text = (u: Uint8Array) => new TextDecoder().decode(u);
          expect(decodeBatch(build?.()).map((r) => [text(r.bytes), r.verified, r.source])).toEqual(
            xs.map(([i, v, s]) => [text(encodeRecord(record(i))), v, s]),
          );
        },
      ),
    );
  });
});
