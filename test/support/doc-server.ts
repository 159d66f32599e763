/**
 * A real local document server for remote-source tests (trust bundles, revocation lists, policy bundles): https with
 * a certificate from a {@link TestPki} (made by openssl at test time), or plain http, on 127.0.0.1 with an ephemeral
 * port. Serves one mutable document with an ETag; counts requests so a test can tell "refused before connecting".
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TestPki } from './tls.js';

/** A running document server. */
export interface DocServer {
  /** `https://127.0.0.1:<port>/doc` (or http). */
  url: string;
  /** Requests that reached the HTTP layer (a refused TLS handshake never does). */
  readonly requests: number;
  /** Replaces the document (a new ETag). */
  set(body: string | Buffer, contentType?: string): void;
  /** Serves from now on with `pki`'s server certificate (https only). */
  useCertOf(pki: TestPki): void;
  close(): Promise<void>;
}

/** Starts a server; `pki` given = https with its server certificate, else plain http. */
export async function startDocServer(pki?: TestPki): Promise<DocServer> {
  let body: Buffer = Buffer.alloc(0);
  let type = 'application/json';
  let version = 0;
  let requests = 0;
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    requests++;
    const etag = `"v${version}"`;
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, { etag }).end();
      return;
    }
    res.writeHead(200, { etag, 'content-type': type, 'content-length': body.length }).end(body);
  };
  const server = pki
    ? createHttpsServer({ cert: pki.read(pki.server.cert), key: pki.read(pki.server.key) }, handler)
    : createHttpServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${pki ? 'https' : 'http'}://127.0.0.1:${port}/doc`,
    get requests() {
      return requests;
    },
    set(b, contentType) {
      body = Buffer.from(b);
      if (contentType !== undefined) type = contentType;
      version++;
    },
    useCertOf(other) {
      if (!('setSecureContext' in server)) throw new Error('not an https server');
      server.setSecureContext({ cert: other.read(other.server.cert), key: other.read(other.server.key) });
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}
