/**
 * `sigil audit collect --serve` (docs/witness.md §6): the collector as an HTTP service the dashboard's Mesh
 * view points at. `GET /collect?task=T` (Bearer token) answers the {@link CollectReport} of {@link collect};
 * every bundle is in it, and the browser verifies each one again with the keys pinned there, so a collector
 * (or anything between it and the browser) can hide answers but not forge one.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type CollectSource, collect } from './collect.js';
import type { WitnessPolicy } from './witness-policy.js';

/** Options of {@link collectorHandler}. */
export interface CollectorServerOptions {
  sources: readonly CollectSource[];
  policy: WitnessPolicy;
  /** The credential clients must send (`Authorization: Bearer …`): the answers are audit data. */
  token: string;
  /** Origins allowed to call from a browser (CORS; the dashboard's origin, e.g. `http://127.0.0.1:9190`). */
  allowOrigins?: readonly string[];
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** The collector's request handler (CORS preflight, `GET /collect`, 404 otherwise). */
export function collectorHandler(
  o: CollectorServerOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const want = digest(o.token);
  return (req, res) => {
    const origin = req.headers.origin;
    const cors: Record<string, string> =
      origin && o.allowOrigins?.includes(origin)
        ? { 'access-control-allow-origin': origin, vary: 'origin' }
        : {};
    const send = (status: number, body: unknown) => {
      const text = `${JSON.stringify(body)}\n`;
      res.writeHead(status, {
        ...cors,
        'content-type': 'application/json',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    };
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'OPTIONS' && url.pathname === '/collect') {
      res.writeHead(204, {
        ...cors,
        'access-control-allow-methods': 'GET',
        'access-control-allow-headers': 'authorization',
        'access-control-max-age': '600',
      });
      res.end();
      return;
    }
    if (req.method !== 'GET' || url.pathname !== '/collect')
      return send(404, { error: 'not found', code: 'NOT_FOUND' });
    const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    if (!m || !timingSafeEqual(digest(m[1] as string), want))
      return send(401, { error: 'collector token required', code: 'ADMIN_UNAUTHORIZED' });
    const task = url.searchParams.get('task');
    if (!task) return send(400, { error: 'task is required', code: 'WITNESS_BAD_REQUEST' });
    collect({ task, sources: o.sources, policy: o.policy }).then(
      (r) => send(200, r),
      (e: unknown) => send(500, { error: (e as Error).message, code: 'WITNESS_UNAVAILABLE' }),
    );
  };
}
