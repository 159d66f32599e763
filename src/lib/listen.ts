/** The config's `host:port` / `[v6]:port` / `unix:/path` listen strings (src/config/schema.ts hostPort). */
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import { GrpcStatus, SigilError } from './errors.js';

/**
 * A listener that could not bind (address in use, permission denied, no such address). `sigil serve` turns
 * it into a ConfigError naming the config key; `errno` is the OS code (`EADDRINUSE`, `EACCES`, …) when known.
 */
export class ListenError extends SigilError<'LISTEN_FAILED'> {
  constructor(
    /** The listen string as configured. */
    readonly address: string,
    readonly transport: 'http' | 'grpc',
    readonly errno: string | undefined,
    cause: unknown,
  ) {
    const why: Record<string, string> = {
      EADDRINUSE: 'address already in use',
      EACCES: 'permission denied',
      EADDRNOTAVAIL: 'address not available on this host',
    };
    const reason = errno ? `${why[errno] ?? 'bind failed'} (${errno})` : (cause as Error)?.message;
    super('LISTEN_FAILED', `cannot listen on ${address}: ${reason}`, { cause, grpc: GrpcStatus.UNAVAILABLE });
  }

  /** Wraps a bind failure; grpc-js only reports the OS code inside its message, so it is read from there. */
  static from(address: string, transport: 'http' | 'grpc', e: unknown): ListenError {
    const errno =
      (e as NodeJS.ErrnoException)?.code ?? /\b(E[A-Z]{3,})\b/.exec((e as Error)?.message ?? '')?.[1];
    return new ListenError(address, transport, errno, e);
  }
}

/** A parsed listen address. */
type ListenAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

/** Parses a listen string; port 0 asks the OS for a free port. */
export function parseListen(s: string): ListenAddress {
  if (s.startsWith('unix:')) return { kind: 'unix', path: s.slice('unix:'.length) };
  const i = s.lastIndexOf(':');
  let host = s.slice(0, i);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const port = Number(s.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`bad listen address ${s}`);
  return { kind: 'tcp', host, port };
}

/**
 * Starts `server` (an HTTP server, or any net server: `transport` names it in a bind error) listening on
 * `where`; resolves with its URL (`unix:/path` for a socket) and bound port.
 */
export function listenHttp(
  server: Server,
  where: string,
  transport: 'http' | 'grpc' = 'http',
): Promise<{ url: string; port: number }> {
  const addr = parseListen(where);
  return new Promise((resolve, reject) => {
    const fail = (e: unknown) => reject(ListenError.from(where, transport, e));
    server.once('error', fail);
    const done = () => {
      server.off('error', fail);
      if (addr.kind === 'unix') return resolve({ url: `unix:${addr.path}`, port: 0 });
      const a = server.address() as AddressInfo;
      const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
      resolve({ url: `http://${host}:${a.port}`, port: a.port });
    };
    if (addr.kind === 'unix') server.listen(addr.path, done);
    else server.listen(addr.port, addr.host, done);
  });
}

/** Stops `server`: idle connections close at once, open ones (event streams, slow requests) are cut after `graceMs`. */
export function closeHttp(server: HttpServer, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), graceMs).unref();
  });
}
