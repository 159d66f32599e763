/** Parses the config's `host:port` / `[v6]:port` / `unix:/path` listen strings (src/config/schema.ts hostPort). */

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
