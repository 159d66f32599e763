/**
 * A stand-in primary for replay-cache tests: a child process (forked with `serialization: 'advanced'`, as
 * node:cluster forks workers) that owns ONE proof replay cache and answers spends over IPC
 * (docs/workers.md §4). `{id, jti, untilMs, nowMs}` in, `{id, result}` out. `{stall: true}` makes it stop
 * answering (a hung primary). Run with `node --import tsx`.
 */
import { createReplayCache } from '../../src/authz/index.js';

const cache = createReplayCache(Number(process.argv[2] ?? 1000));
let stalled = false;
process.on('message', (m: { id: number; jti: string; untilMs: number; nowMs: number } | { stall: true }) => {
  if ('stall' in m) {
    stalled = true;
    return;
  }
  if (!stalled) process.send?.({ id: m.id, result: cache.spend(m.jti, m.untilMs, m.nowMs) });
});
process.on('disconnect', () => process.exit(0));
process.send?.({ ready: true });
