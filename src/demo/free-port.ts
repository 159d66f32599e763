/** Free TCP ports on 127.0.0.1 for processes that need a port number up front (Envoy configs). */

import { randomInt } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';

/** Lowest port handed out here: above the registered services most hosts run. */
const LOWEST = 10_000;
/** Fewest candidate ports below the ephemeral range worth drawing from; with fewer, the kernel picks. */
const MIN_SPAN = 2_000;

/**
 * The ports below the kernel's ephemeral range (Linux: `net.ipv4.ip_local_port_range`, 32768–60999 by
 * default), or undefined when it cannot be read or leaves too few. Why: a port the kernel hands out for
 * port 0 comes from that range, and so does the local port of every outgoing connection; a port picked there
 * and bound a moment later is often taken meanwhile by another process's connection (EADDRINUSE). Below it,
 * only another listener can take it.
 */
function belowEphemeral(): [number, number] | undefined {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low - LOWEST >= MIN_SPAN ? [LOWEST, low - 1] : undefined;
  } catch {
    return undefined;
  }
}

/** Binds `port` (0: any) on 127.0.0.1 and releases it; the bound port, or undefined when it was taken. */
async function probe(port: number): Promise<number | undefined> {
  const server = createServer();
  try {
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    return (server.address() as AddressInfo).port;
  } catch {
    return undefined;
  } finally {
    await new Promise((r) => server.close(r));
  }
}

/**
 * Returns `n` distinct ports that were free a moment ago: drawn at random below the ephemeral range and
 * checked by binding each, else (no such range) the kernel's choice for port 0. `draw` replaces the random
 * draw (tests).
 */
export async function freePorts(
  n: number,
  draw: (low: number, high: number) => number = (low, high) => randomInt(low, high + 1),
): Promise<number[]> {
  const range = belowEphemeral();
  const ports: number[] = [];
  for (let tries = 0; ports.length < n; tries++) {
    const want = range && tries < 100 * n ? draw(range[0], range[1]) : 0;
    if (want !== 0 && ports.includes(want)) continue;
    const got = await probe(want);
    if (got !== undefined && !ports.includes(got)) ports.push(got);
  }
  return ports;
}

/** The loopback ports one SIGIL + Envoy pair needs. */
export interface SidecarPorts {
  authz: number;
  admin: number;
  issuerHttp: number;
  issuerGrpc: number;
  /** Envoy's listener (the agent's inbound port). */
  listen: number;
  envoyAdmin: number;
}

/** Six free ports, named, for a demo's SIGIL and its Envoy. */
export async function sidecarPorts(): Promise<SidecarPorts> {
  const [authz, admin, issuerHttp, issuerGrpc, listen, envoyAdmin] = (await freePorts(6)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return { authz, admin, issuerHttp, issuerGrpc, listen, envoyAdmin };
}
