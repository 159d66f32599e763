/** Free TCP ports on 127.0.0.1 for processes that need a port number up front (Envoy configs). */
import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';

/** Returns `n` distinct ports that were free a moment ago (bind to 0, read, release). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = Array.from({ length: n }, () => createServer().listen(0, '127.0.0.1'));
  await Promise.all(servers.map((s) => once(s, 'listening')));
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
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
