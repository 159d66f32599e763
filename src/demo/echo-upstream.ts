/**
 * A tiny agent upstream for `sigil demo` and the end-to-end tests: answers every request with the method,
 * path, headers and body it received, so a caller can see exactly what Envoy forwarded after SIGIL allowed it.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { closeHttp, listenHttp } from '../lib/listen.js';

/** One request as the upstream saw it. */
export interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A running echo upstream. */
export interface EchoUpstream {
  port: number;
  /** Every request received, in order. */
  seen: SeenRequest[];
  close(): Promise<void>;
}

/** Starts the echo upstream on an ephemeral port of 127.0.0.1. */
export async function startEchoUpstream(): Promise<EchoUpstream> {
  const seen: SeenRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= 2 * 1024 * 1024) chunks.push(c);
    });
    req.on('end', () => {
      const s: SeenRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      seen.push(s);
      const body = JSON.stringify({ upstream: 'sigil-demo-agent', ...s });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  const { port } = await listenHttp(server, '127.0.0.1:0');
  return {
    port,
    seen,
    close: () => closeHttp(server, 0),
  };
}
