/**
 * Lets a closed HTTP/2 server stream drop what it still points to (docs/sizing.md §4 "Tail latency"). Only
 * `sigil serve` calls this (through `tuneRuntime`): it applies to every HTTP/2 server stream of the process.
 */
import { subscribe } from 'node:diagnostics_channel';
import type { ServerHttp2Stream } from 'node:http2';

let subscribed = false;

/**
 * From now on, every HTTP/2 server stream of this process loses its event listeners once it has closed and
 * every `close` listener has run. Why: node:http2 files each stream in a per-session Set, then a Map, and
 * deletes it again; on Node 24 (V8 13.x) the tables those rehash into live in the old generation, and a
 * dropped one keeps the streams it held reachable for the scavenger until the next full collection. Through
 * its listeners a stream reaches grpc-js's call, the decoded message and the handler's closures, so all of
 * that was promoted with it: most of what fills the old generation between full collections at 1000 Checks/s
 * (bench/NOTES.md, "2026-12-05, session 31 — the tail"). A closed stream emits nothing more, so nobody misses
 * the listeners. Idempotent.
 */
export function releaseClosedHttp2Streams(): void {
  if (subscribed) return;
  subscribed = true;
  // Published when node:http2 creates a server stream, before the session's 'stream' event
  // (every Node.js SIGIL supports: 22.19+, 24).
  subscribe('http2.server.stream.created', onStreamCreated);
}

function onStreamCreated(message: unknown): void {
  const stream = (message as { stream?: ServerHttp2Stream }).stream;
  // Registered first, so it runs before grpc-js's own 'close' listener; the immediate runs after that
  // listener and the ticks it queues.
  stream?.once('close', () => setImmediate(() => stream.removeAllListeners()));
}
