/**
 * The admin HTTP server on `sigil.admin.listen`: `/metrics` (Prometheus text format), `/healthz`
 * (process alive), `/ready` (200 only once keys, trust bundle and ledger are open), plus mounted
 * handlers (the dashboard API) tried in order for every other path.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { closeHttp, listenHttp } from '../lib/listen.js';

/** A mounted handler: returns true when it took the request (and answers it). */
export type AdminHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

/** Options of {@link startAdminServer}. */
export interface AdminServerOptions {
  /** `host:port` (port 0 = ephemeral) or `unix:/path`. */
  listen: string;
  registry: Registry;
  /** Readiness probe, asked on every /ready. */
  isReady: () => boolean;
}

/** A running admin server. */
export interface AdminServer {
  /** `http://host:port` or `unix:/path`. */
  url: string;
  /** Adds a handler tried (in mount order) for paths other than /metrics, /healthz, /ready. */
  mount(handler: AdminHandler): void;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** Starts the admin server; resolves once listening. */
export async function startAdminServer(o: AdminServerOptions): Promise<AdminServer> {
  const handlers: AdminHandler[] = [];
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    try {
      if (req.method === 'GET' || req.method === 'HEAD') {
        if (path === '/healthz') return send(res, 200, 'application/json', '{"status":"ok"}');
        if (path === '/ready') {
          const ready = o.isReady();
          return send(res, ready ? 200 : 503, 'application/json', JSON.stringify({ ready }));
        }
        if (path === '/metrics') {
          o.registry.metrics().then(
            (text) => send(res, 200, o.registry.contentType, text),
            () => send(res, 500, 'text/plain', 'metrics unavailable\n'),
          );
          return;
        }
      }
      for (const h of handlers) if (h(req, res)) return;
      send(res, 404, 'application/json', '{"error":"not found","code":"ADMIN_NOT_FOUND"}');
    } catch {
      if (!res.headersSent)
        send(res, 500, 'application/json', '{"error":"internal error","code":"ADMIN_INTERNAL"}');
      else res.destroy();
    }
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  const { url } = await listenHttp(server, o.listen);
  let closing: Promise<void> | undefined;
  return {
    url,
    mount: (h) => void handlers.push(h),
    // Event streams (dashboard SSE) never end on their own: cut after 2 s.
    close: () => (closing ??= closeHttp(server, 2000)),
  };
}
