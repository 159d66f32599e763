/**
 * Which remote sources SIGIL reads trust, revocations and policy from (docs/keys.md §Remote sources). A source is a
 * file path or an `https://` URL. `http://` carries keys and policy in the clear, so anyone on the path could swap
 * them (SPIFFE Trust Domain and Bundle §5, §6.1: bundle transfer needs transport security); it is accepted only when
 * the caller allows it explicitly AND the host is loopback (127.0.0.0/8, ::1, `localhost`: RFC 6761 §6.3), where
 * the path never leaves the machine.
 */
import { BlockList, isIP } from 'node:net';

/** What a source location is. */
export type SourceKind = 'file' | 'https' | 'http' | 'other-url';

/** `scheme://…` (RFC 3986 §3.1 scheme syntax); anything else is a file path. */
const URL_LIKE = /^([a-z][a-z0-9+.-]*):\/\//i;

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** The kind of `location`. */
export function sourceKind(location: string): SourceKind {
  const scheme = URL_LIKE.exec(location)?.[1]?.toLowerCase();
  if (scheme === undefined) return 'file';
  if (scheme === 'https') return 'https';
  if (scheme === 'http') return 'http';
  return 'other-url';
}

/**
 * True when `hostname` (as `URL.hostname` gives it: IPv6 in brackets) names the loopback interface:
 * 127.0.0.0/8, ::1 (also as an IPv4-mapped address) or `localhost`.
 */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return true;
  const family = isIP(h);
  if (family === 4) return loopback.check(h, 'ipv4');
  if (family === 6) return loopback.check(h, 'ipv6');
  return false;
}

/** Transport settings of one remote source. */
export interface SourceTransport {
  /** Accept `http://` when the host is loopback (default false). */
  allowLoopbackHttp?: boolean;
  /** PEM CA certificate(s): when set, the only roots trusted for this source's TLS. */
  ca?: string | Buffer;
}

/**
 * Why `location` may not be read with `t`, or undefined when it may. Refused: a URL scheme other than https and
 * (loopback) http; `http://` without `allowLoopbackHttp` or to a non-loopback host. (`ca` only matters for https;
 * the config refuses a `ca_file` on a source without TLS, where the pin would protect nothing.)
 */
export function sourceProblem(location: string, t: SourceTransport = {}): string | undefined {
  const kind = sourceKind(location);
  if (kind === 'other-url') return 'only https:// URLs and file paths are accepted';
  if (kind !== 'http') return undefined;
  let host: string;
  try {
    host = new URL(location).hostname;
  } catch {
    return 'not a valid URL';
  }
  if (!isLoopbackHost(host))
    return 'http:// is refused (use https://); plain HTTP is allowed only to a loopback host';
  if (t.allowLoopbackHttp !== true)
    return 'http:// is refused (use https://, or allow_loopback_http for a loopback host)';
  return undefined;
}
