/**
 * The primary ↔ worker channel (src/serve/workers/ipc.ts) over a real MessageChannel (the structured clone
 * algorithm, like node:cluster's `serialization: 'advanced'`): everything sent in one turn is one message,
 * requests are handled in order, errors come back with their code, and a closed channel fails every waiting
 * request closed.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { SigilError } from '../../src/lib/errors.js';
import { WorkersError } from '../../src/serve/workers/errors.js';
import { IpcChannel, type IpcHandler, type IpcPort } from '../../src/serve/workers/ipc.js';

const ports: MessagePort[] = [];
afterEach(() => {
  for (const p of ports.splice(0)) p.close();
});

/** A MessagePort as an IpcPort, counting the messages it sends. */
function port(p: MessagePort): IpcPort & { sent: number } {
  ports.push(p);
  const wrapped = {
    sent: 0,
    send(m: unknown) {
      wrapped.sent++;
      p.postMessage(m);
    },
    on: (_: 'message', l: (m: unknown) => void) => p.on('message', l),
    off: (_: 'message', l: (m: unknown) => void) => p.off('message', l),
  };
  return wrapped;
}

function pair(aHandlers: Record<string, IpcHandler>, bHandlers: Record<string, IpcHandler>) {
  const { port1, port2 } = new MessageChannel();
  const pa = port(port1);
  const pb = port(port2);
  return { a: new IpcChannel(pa, aHandlers), b: new IpcChannel(pb, bHandlers), pa, pb };
}

describe('IpcChannel', () => {
  it('sends every request of one turn as one message, and the answers as one', async () => {
    const { a, pa, pb } = pair({}, { echo: (x) => ({ got: x }) });
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => a.call('echo', { i })));
    expect(answers).toEqual(Array.from({ length: 100 }, (_, i) => ({ got: { i } })));
    expect(pa.sent).toBe(1);
    expect(pb.sent).toBe(1);
    expect(a.inFlight).toBe(0);
  });

  it('answers async handlers as they finish, each with its own value (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.string()), { maxLength: 30 }),
        async (xs) => {
          const { a } = pair(
            {},
            {
              later: (p) => {
                const [ms, s] = p as [number, string];
                return new Promise((r) => setTimeout(() => r(`${s}!`), ms));
              },
            },
          );
          const out = await Promise.all(xs.map((x) => a.call('later', x)));
          expect(out).toEqual(xs.map(([, s]) => `${s}!`));
        },
      ),
      { numRuns: 20 },
    );
  });

  it('handles requests in the order they were sent (a state update before the requests after it)', async () => {
    const seen: string[] = [];
    const { a } = pair({}, { note: (x) => void seen.push(x as string) });
    const sent = Array.from({ length: 50 }, (_, i) => `m${i}`);
    await Promise.all(sent.map((m) => a.call('note', m)));
    expect(seen).toEqual(sent);
  });

  it('both directions at once: requests and answers share messages', async () => {
    const { a, b } = pair({ fromB: (x) => `a:${x}` }, { fromA: (x) => `b:${x}` });
    const [x, y] = await Promise.all([a.call('fromA', 1), b.call('fromB', 2)]);
    expect([x, y]).toEqual(['b:1', 'a:2']);
  });

  it("a handler's failure comes back as WORKERS_REMOTE_FAILED with its code", async () => {
    const { a } = pair(
      {},
      {
        bad: () => {
          throw new SigilError('LEDGER_CLOSED', 'the ledger is closed');
        },
        badAsync: async () => {
          throw new Error('plain');
        },
      },
    );
    await expect(a.call('bad', 0)).rejects.toMatchObject({
      code: 'WORKERS_REMOTE_FAILED',
      remoteCode: 'LEDGER_CLOSED',
      message: 'LEDGER_CLOSED: the ledger is closed',
    });
    await expect(a.call('badAsync', 0)).rejects.toMatchObject({
      code: 'WORKERS_REMOTE_FAILED',
      message: 'INTERNAL: plain',
    });
    await expect(a.call('nope', 0)).rejects.toMatchObject({ code: 'WORKERS_REMOTE_FAILED' });
  });

  it('close() rejects every waiting request with WORKERS_CHANNEL_CLOSED, and later calls too', async () => {
    const { a } = pair({}, { never: () => new Promise(() => {}) });
    const waiting = Array.from({ length: 5 }, () => a.call('never', 0));
    await new Promise((r) => setTimeout(r, 20));
    expect(a.inFlight).toBe(5);
    a.close('worker 1 exited');
    for (const w of waiting) await expect(w).rejects.toMatchObject({ code: 'WORKERS_CHANNEL_CLOSED' });
    await expect(a.call('never', 0)).rejects.toBeInstanceOf(WorkersError);
    expect(a.closed).toBe(true);
  });

  it('a request with a timeout rejects with WORKERS_TIMEOUT; a late answer is dropped', async () => {
    const { a } = pair({}, { slow: () => new Promise((r) => setTimeout(() => r('late'), 80)) });
    await expect(a.call('slow', 0, 20)).rejects.toMatchObject({ code: 'WORKERS_TIMEOUT' });
    await new Promise((r) => setTimeout(r, 100));
    expect(a.inFlight).toBe(0);
    expect(await a.call('slow', 0, 1000)).toBe('late');
  });

  it('a send that fails later (EPIPE to a dead process) closes the channel and fails its requests closed', async () => {
    const listeners = new Set<(m: unknown) => void>();
    const dead: IpcPort = {
      send: (_m, done) =>
        setImmediate(() => done?.(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))),
      on: (_e, l) => listeners.add(l),
      off: (_e, l) => listeners.delete(l),
    };
    const a = new IpcChannel(dead, {});
    await expect(a.call('append', {})).rejects.toMatchObject({
      code: 'WORKERS_CHANNEL_CLOSED',
      message: 'send failed: write EPIPE',
    });
    expect(a.closed).toBe(true);
    expect(listeners.size).toBe(0);
  });

  it('ignores messages that are not its own (other users of the port)', async () => {
    const { port1, port2 } = new MessageChannel();
    ports.push(port1, port2);
    const a = new IpcChannel(port(port1), {});
    const b = new IpcChannel(port(port2), { ping: () => 'pong' });
    port2.postMessage({ type: 'prom-client:getMetricsReq', requestId: 1 });
    port2.postMessage('hello');
    expect(await a.call('ping', 0)).toBe('pong');
    b.close();
  });
});
