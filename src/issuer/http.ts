/**
 * HTTP/JSON transport of the issuer endpoint (docs/api.md §Issuer). Thin: it reads and size-limits
 * the body, parses JSON, extracts the operator credential and maps errors to `{error, code}` with the
 * error's HTTP status; every rule is in {@link IssuerService}. node:http only, no framework.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { SigilError } from '../lib/errors.js';
import { IssuerError } from './errors.js';
import type { Caller, IssuerService } from './service.js';

/** Largest accepted request body (64 KiB: a maximal 16 KiB chain plus fields fits many times over). */
const MAX_BODY_BYTES = 64 * 1024;

/** Reads the body up to {@link MAX_BODY_BYTES}; rejects early on a declared or actual overflow. */
function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) {
      reject(new IssuerError('ISSUER_BODY_TOO_LARGE', `body over ${MAX_BODY_BYTES} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        done = true;
        reject(new IssuerError('ISSUER_BODY_TOO_LARGE', `body over ${MAX_BODY_BYTES} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!done) resolve(Buffer.concat(chunks));
    });
    req.on('error', (e) => {
      if (!done) reject(new IssuerError('ISSUER_BAD_REQUEST', 'request body stream failed', e));
    });
  });
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new IssuerError('ISSUER_UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json');
  }
  const body = await readBody(req);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch (e) {
    throw new IssuerError('ISSUER_BAD_JSON', 'body is not valid UTF-8', e);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new IssuerError('ISSUER_BAD_JSON', 'body is not valid JSON', e);
  }
}

/** Most we read and discard after refusing a request before cutting the connection. */
const MAX_DRAIN_BYTES = 1024 * 1024;

/**
 * Reads and discards what the client still sends after we answered early (so a well-behaved client
 * gets to read our answer instead of a reset), but cuts the socket past {@link MAX_DRAIN_BYTES}:
 * an endless upload must not keep us busy.
 */
function drain(req: IncomingMessage): void {
  let drained = 0;
  req.on('data', (c: Buffer) => {
    drained += c.length;
    if (drained > MAX_DRAIN_BYTES) req.socket.destroy();
  });
  req.resume();
}

/** `Authorization: Bearer <credential>` (RFC 6750 §2.1; scheme case-insensitive). */
function bearer(req: IncomingMessage): Caller {
  const h = req.headers.authorization;
  const m = typeof h === 'string' ? /^Bearer +(\S+) *$/i.exec(h) : null;
  return { kind: 'remote', credential: m?.[1], via: 'http' };
}

function send(res: ServerResponse, status: number, body: unknown, cache = 'no-store'): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': cache,
    'x-content-type-options': 'nosniff',
  });
  res.end(text);
}

type Handler = (req: IncomingMessage) => Promise<unknown> | unknown;

/** Creates the (not yet listening) HTTP server for `service`. */
export function createIssuerHttpServer(service: IssuerService, logger?: Logger): Server {
  // The credential is checked before the body is read: strangers don't get to make us parse JSON.
  const operatorPost =
    (op: 'mint' | 'revoke'): Handler =>
    async (req) => {
      const caller = bearer(req);
      service.checkOperator(caller, op);
      const body = await readJson(req);
      return op === 'mint' ? service.mint(body, caller) : await service.revokeInForce(body, caller);
    };
  const routes: Record<string, Record<string, Handler>> = {
    '/v1/mint': { post: operatorPost('mint') },
    '/v1/delegate': { post: async (req) => service.delegate(await readJson(req), 'http') },
    '/v1/revoke': { post: operatorPost('revoke') },
    '/.well-known/jwks.json': { get: () => service.jwks() },
    '/v1/identity': { get: () => service.identity() },
    '/v1/revocations': { get: () => service.revocations() },
  };

  const server = createServer({ requestTimeout: 10_000, headersTimeout: 5_000 }, (req, res) => {
    void (async () => {
      const path = (req.url ?? '/').split('?')[0]!;
      try {
        // Own properties only: a path or method named like an Object.prototype member is just unknown.
        const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
        if (!route) throw new IssuerError('ISSUER_NOT_FOUND', `no route ${path}`);
        const method = (req.method ?? '').toLowerCase();
        const handler = Object.hasOwn(route, method) ? route[method] : undefined;
        if (!handler) {
          res.setHeader('allow', Object.keys(route).join(', ').toUpperCase());
          throw new IssuerError('ISSUER_METHOD_NOT_ALLOWED', `${req.method} not allowed on ${path}`);
        }
        const out = await handler(req);
        send(res, 200, out, path === '/.well-known/jwks.json' ? 'public, max-age=30' : 'no-store');
      } catch (e) {
        const err = e instanceof SigilError ? e : new IssuerError('ISSUER_INTERNAL', 'internal error', e);
        if (!(e instanceof SigilError)) logger?.error({ err: e, path }, 'issuer http: unexpected error');
        if (err.code === 'ISSUER_BODY_TOO_LARGE') res.setHeader('connection', 'close');
        if (!res.headersSent) send(res, err.httpStatus, err.toJSON());
        else res.destroy();
        if (!req.complete) drain(req);
      }
    })();
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });
  return server;
}
