/**
 * The port picker every integration test and the demo use: ports must be distinct, bindable, and on Linux drawn
 * below the ephemeral range, where no outgoing connection can take one between the pick and the bind.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePorts, sidecarPorts } from '../../src/demo/free-port.js';

const ephemeralLow = (): number =>
  Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);

async function listen(port: number): Promise<Server> {
  const s = createServer().listen(port, '127.0.0.1');
  await once(s, 'listening');
  return s;
}

describe('freePorts', () => {
  it('returns distinct ports below the ephemeral range that can be bound', async () => {
    const ports = await freePorts(12);
    expect(new Set(ports).size).toBe(12);
    for (const p of ports) {
      expect(p).toBeGreaterThanOrEqual(10_000);
      expect(p).toBeLessThan(ephemeralLow());
    }
    const servers = await Promise.all(ports.map(listen));
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });

  it('skips a drawn port another listener holds, and a port it already returned', async () => {
    const held = await listen((await freePorts(1))[0]!);
    const busy = (held.address() as { port: number }).port;
    try {
      const [a, b] = await freePorts(2);
      const draws = [busy, a!, a!, busy, b!];
      const got = await freePorts(2, (low, high) => {
        const next = draws.shift();
        if (next === undefined || next < low || next > high)
          throw new Error(`draw ${next} in ${low}–${high}`);
        return next;
      });
      // busy: held; a: free, taken; a again: already returned; busy again; b: free, taken.
      expect(got).toEqual([a, b]);
      expect(draws).toEqual([]);
    } finally {
      await new Promise((r) => held.close(r));
    }
  });

  it('names six distinct ports for a sidecar and its Envoy', async () => {
    const p = await sidecarPorts();
    expect(new Set(Object.values(p)).size).toBe(6);
  });
});
