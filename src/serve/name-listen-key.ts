/** Start-up bind failures reported against the config key that chose the address. */
import { ConfigError } from '../config/index.js';
import { ListenError } from '../lib/listen.js';

/** The config key of a listener, by which one failed (the issuer runs two). */
export type ListenKey = string | ((e: ListenError) => string);

/**
 * Awaits `starting`; a {@link ListenError} becomes a `CONFIG_LISTEN_FAILED` ConfigError naming the key and
 * the address (e.g. `config sigil.authz.listen: cannot listen on 127.0.0.1:9191: address already in use
 * (EADDRINUSE)`), so `sigil serve` exits 1 with that line instead of a stack trace. Other errors pass through.
 */
export async function nameListenKey<T>(key: ListenKey, starting: Promise<T>): Promise<T> {
  try {
    return await starting;
  } catch (e) {
    if (!(e instanceof ListenError)) throw e;
    const name = typeof key === 'string' ? key : key(e);
    throw new ConfigError('CONFIG_LISTEN_FAILED', `config ${name}: ${e.message}`, { cause: e });
  }
}

/** The issuer's key: its HTTP or gRPC listener. */
export const issuerListenKey = (e: ListenError): string =>
  e.transport === 'grpc' ? 'sigil.issuer.listen_grpc' : 'sigil.issuer.listen_http';
