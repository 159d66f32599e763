/**
 * The ext_authz service on a lean gRPC-over-HTTP/2 transport built directly on `node:http2` (docs/authz.md
 * §Transport): envoy.service.auth.v3.Authorization/Check and grpc.health.v1.Health Check/Watch, plaintext h2c
 * with prior knowledge (what Envoy's grpc_service cluster speaks), on host:port or unix:/path.
 *
 * Protocol: gRPC PROTOCOL-HTTP2 (github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md). Same options, address
 * and drain contract as the @grpc/grpc-js server (../server.ts), and the same request decoding and response
 * encoding — only the framing layer differs. grpc-js spent ~0.2 ms CPU per unary call on its own machinery.
 */
import { rmSync } from 'node:fs';
import {
  createServer,
  type Http2Server,
  type Http2Session,
  constants as h2c,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { GrpcObject, ServiceClientConstructor } from '@grpc/grpc-js';
import { encodeCheckResponse } from '../lib/encode-response.js';
import { withFullRequest } from '../lib/lazy-request.js';
import { readCheckRequest } from '../lib/read-check-request.js';
import { authzProtos } from '../proto.js';
import { denyResponse } from '../respond.js';
import type { AuthzServer, AuthzServerOptions } from '../server.js';
import type { CheckRequest, CheckResponse } from '../types.js';
import {
  type FrameProblem,
  frameMessage,
  parseGrpcTimeout,
  percentEncode,
  UnaryMessageReader,
} from './lib/grpc-frame.js';

/** gRPC status codes used here (grpc/doc/statuscodes.md). */
enum Code {
  OK = 0,
  DEADLINE_EXCEEDED = 4,
  NOT_FOUND = 5,
  RESOURCE_EXHAUSTED = 8,
  UNIMPLEMENTED = 12,
  INTERNAL = 13,
}

const CHECK_PATH = '/envoy.service.auth.v3.Authorization/Check';
const HEALTH_CHECK_PATH = '/grpc.health.v1.Health/Check';
const HEALTH_WATCH_PATH = '/grpc.health.v1.Health/Watch';
const AUTHZ_SERVICE = 'envoy.service.auth.v3.Authorization';

/** HTTP/2 limits: a Check's metadata is a few hundred bytes; the request itself travels in DATA frames. */
const SETTINGS = {
  maxConcurrentStreams: 1000,
  // gRPC's default metadata cap (grpc.max_metadata_size) is 8 KiB; allow some headroom, refuse huge header blocks.
  maxHeaderListSize: 16 * 1024,
  initialWindowSize: 1024 * 1024,
} as const;

const PROBLEM_STATUS: Readonly<Record<FrameProblem, readonly [Code, string]>> = {
  'too-large': [Code.RESOURCE_EXHAUSTED, 'request message larger than the limit'],
  // PROTOCOL-HTTP2 / compression.md: Compressed-Flag set with no grpc-encoding negotiated → INTERNAL.
  compressed: [Code.INTERNAL, 'compressed message without a negotiated grpc-encoding'],
  'extra-data': [Code.INTERNAL, 'more than one request message on a unary call'],
  truncated: [Code.INTERNAL, 'truncated request message'],
  empty: [Code.INTERNAL, 'no request message on a unary call'],
};

/** Constant header/trailer blocks and options: node copies them per call, we need not allocate them per call. */
const OK_HEADERS = Object.freeze({ ':status': 200, 'content-type': 'application/grpc' });
const OK_TRAILERS = Object.freeze({ 'grpc-status': '0' });
// gRPC has no use for the `date` header node adds by default.
const UNARY_OPTIONS = Object.freeze({ waitForTrailers: true, sendDate: false });
const END_OPTIONS = Object.freeze({ endStream: true, sendDate: false });
const ignore = (): void => {};
function sendOkTrailers(this: ServerHttp2Stream): void {
  this.sendTrailers(OK_TRAILERS);
}

type Codec<T> = { decode: (b: Buffer) => T; encode: (v: T) => Buffer };

function method<Req, Res>(grpc: GrpcObject, svc: string, name: string): { req: Codec<Req>; res: Codec<Res> } {
  let node: unknown = grpc;
  for (const part of svc.split('.')) node = (node as Record<string, unknown>)[part];
  const d = (node as ServiceClientConstructor).service[name]!;
  return {
    req: {
      decode: d.requestDeserialize as (b: Buffer) => Req,
      encode: d.requestSerialize as (v: Req) => Buffer,
    },
    res: {
      decode: d.responseDeserialize as (b: Buffer) => Res,
      encode: d.responseSerialize as (v: Res) => Buffer,
    },
  };
}

/** Trailers-Only response (PROTOCOL-HTTP2 §Responses): status in the single HEADERS frame that ends the stream. */
function trailersOnly(stream: ServerHttp2Stream, code: Code, message: string): void {
  if (stream.destroyed || stream.headersSent) return;
  try {
    stream.respond(
      {
        ':status': 200,
        'content-type': 'application/grpc',
        'grpc-status': String(code),
        'grpc-message': percentEncode(message),
      },
      END_OPTIONS,
    );
  } catch {
    stream.destroy();
  }
  // The client may still be sending; RST_STREAM(NO_ERROR) after a complete response tells it to stop (RFC 9113
  // §8.1). Not once its END_STREAM is in: the stream is then closed and a RST on it may be a connection error (§5.1).
  if (!stream.destroyed && stream.state.remoteClose !== 1) stream.close(h2c.NGHTTP2_NO_ERROR);
}

/** Headers, one message, trailers with grpc-status 0. */
function replyUnary(stream: ServerHttp2Stream, message: Buffer, deadline?: NodeJS.Timeout): void {
  clearTimeout(deadline);
  if (stream.destroyed || stream.headersSent) return;
  stream.respond(OK_HEADERS, UNARY_OPTIONS);
  stream.once('wantTrailers', sendOkTrailers);
  stream.end(frameMessage(message));
}

/** Starts the h2 transport; same contract as {@link startAuthzServer} in ../server.ts. */
export async function startH2AuthzServer(opts: AuthzServerOptions): Promise<AuthzServer> {
  const { grpc } = authzProtos();
  const maxBytes = opts.maxMessageBytes ?? 4 * 1024 * 1024;
  const check = method<CheckRequest, CheckResponse>(grpc, AUTHZ_SERVICE, 'Check');
  const health = method<{ service?: string }, { status: string }>(grpc, 'grpc.health.v1.Health', 'Check');
  // Same decoder as the grpc-js server: the narrow hot-path reader, proto-loader for what it does not model.
  const decodeCheck = (b: Buffer): CheckRequest => {
    const narrow = readCheckRequest(b);
    return narrow === undefined ? check.req.decode(b) : withFullRequest(narrow, b, check.req.decode);
  };
  const encodeCheck = (v: CheckResponse): Buffer => {
    try {
      return encodeCheckResponse(v);
    } catch {
      return check.res.encode(v);
    }
  };

  let serving = true;
  let closing: Promise<void> | undefined;
  const watchers = new Set<{ stream: ServerHttp2Stream; service: string | undefined }>();
  const sessions = new Set<Http2Session>();
  const statusOf = (svc: string | undefined): string => {
    if (svc && svc !== AUTHZ_SERVICE) return 'SERVICE_UNKNOWN';
    return serving ? 'SERVING' : 'NOT_SERVING';
  };

  /** Reads exactly one request message, then hands it to `handle`; framing errors end the call. */
  const unary = (
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    handle: (msg: Buffer, deadline: NodeJS.Timeout | undefined) => void,
  ): void => {
    const reader = new UnaryMessageReader(maxBytes);
    let failed = false;
    const timeout = headers['grpc-timeout'];
    let timer: NodeJS.Timeout | undefined;
    if (typeof timeout === 'string') {
      const ms = parseGrpcTimeout(timeout);
      if (ms === undefined) {
        trailersOnly(stream, Code.INTERNAL, 'malformed grpc-timeout');
        return;
      }
      timer = setTimeout(
        () => trailersOnly(stream, Code.DEADLINE_EXCEEDED, 'deadline exceeded'),
        Math.max(ms, 0),
      );
      // Cleared by the handler when it answers (no per-call 'close' listener); if the client resets first, it
      // fires once on a destroyed stream and does nothing.
      timer.unref();
    }
    stream.on('data', (chunk: Buffer) => {
      if (failed) return;
      const problem = reader.push(chunk);
      if (problem !== undefined) {
        failed = true;
        clearTimeout(timer);
        const [code, msg] = PROBLEM_STATUS[problem];
        trailersOnly(stream, code, msg);
      }
    });
    stream.once('end', () => {
      if (failed || stream.destroyed) return;
      const msg = reader.finish();
      if (typeof msg === 'string') {
        clearTimeout(timer);
        const [code, text] = PROBLEM_STATUS[msg];
        trailersOnly(stream, code, text);
        return;
      }
      handle(msg, timer);
    });
  };

  const onCheck = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void => {
    unary(stream, headers, (msg, deadline) => {
      let req: CheckRequest;
      try {
        req = decodeCheck(msg);
      } catch {
        clearTimeout(deadline);
        trailersOnly(stream, Code.INTERNAL, 'error deserializing request');
        return;
      }
      opts.check(req).then(
        (res) => replyUnary(stream, encodeCheck(res), deadline),
        // createCheck never rejects; this guards a future bug so Envoy still gets a deny, not an error.
        () =>
          replyUnary(
            stream,
            encodeCheck(
              denyResponse({
                decisionId: 'none',
                code: 'AUTHZ_INTERNAL',
                message: 'internal error',
                httpStatus: 500,
              }),
            ),
            deadline,
          ),
      );
    });
  };

  const decodeHealth = (stream: ServerHttp2Stream, msg: Buffer): { service?: string } | undefined => {
    try {
      return health.req.decode(msg);
    } catch {
      trailersOnly(stream, Code.INTERNAL, 'error deserializing request');
      return undefined;
    }
  };

  const onHealthCheck = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void => {
    unary(stream, headers, (msg, deadline) => {
      clearTimeout(deadline);
      const req = decodeHealth(stream, msg);
      if (req === undefined) return;
      const s = statusOf(req.service);
      if (s === 'SERVICE_UNKNOWN') trailersOnly(stream, Code.NOT_FOUND, 'unknown service');
      else replyUnary(stream, health.res.encode({ status: s }));
    });
  };

  const onHealthWatch = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void => {
    unary(stream, headers, (msg, deadline) => {
      // The deadline bounds the wait for the request; the stream itself lives until the client or close() ends it.
      clearTimeout(deadline);
      const req = decodeHealth(stream, msg);
      if (req === undefined || stream.destroyed) return;
      stream.respond(OK_HEADERS, UNARY_OPTIONS);
      stream.once('wantTrailers', sendOkTrailers);
      const w = { stream, service: req.service };
      stream.write(frameMessage(health.res.encode({ status: statusOf(req.service) })));
      if (closing) {
        stream.end();
        return;
      }
      watchers.add(w);
      stream.once('close', () => watchers.delete(w));
    });
  };

  const onStream = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void => {
    // A stream error (client RST, session torn down) must never reach the process as an uncaught 'error'.
    stream.on('error', ignore);
    if (headers[':method'] !== 'POST') {
      // PROTOCOL-HTTP2 §Requests: only POST; a plain HTTP error for anything else.
      stream.respond({ ':status': 405, allow: 'POST' }, { endStream: true });
      return;
    }
    const ct = headers['content-type'];
    // "application/grpc" optionally followed by "+proto" or ";params"; anything else is not gRPC → HTTP 415.
    if (typeof ct !== 'string' || !/^application\/grpc(?:\+proto)?(?:;.*)?$/i.test(ct)) {
      stream.respond({ ':status': 415, 'content-type': 'text/plain' }, { endStream: true });
      return;
    }
    const enc = headers['grpc-encoding'];
    if (typeof enc === 'string' && enc !== 'identity') {
      stream.respond(
        {
          ':status': 200,
          'content-type': 'application/grpc',
          'grpc-status': String(Code.UNIMPLEMENTED),
          'grpc-message': percentEncode(`unsupported grpc-encoding ${enc}`),
          'grpc-accept-encoding': 'identity',
        },
        { endStream: true },
      );
      return;
    }
    switch (headers[':path']) {
      case CHECK_PATH:
        onCheck(stream, headers);
        return;
      case HEALTH_CHECK_PATH:
        onHealthCheck(stream, headers);
        return;
      case HEALTH_WATCH_PATH:
        onHealthWatch(stream, headers);
        return;
      default:
        trailersOnly(stream, Code.UNIMPLEMENTED, `unknown method ${String(headers[':path'])}`);
    }
  };

  const server: Http2Server = createServer({
    settings: SETTINGS,
    // Per-session buffered-frame budget (MiB): a 4 MiB request plus headroom; beyond it nghttp2 refuses streams.
    maxSessionMemory: Math.max(16, Math.ceil((2 * maxBytes) / (1024 * 1024))),
    maxHeaderListPairs: 256,
    // Bounded reply queue for PINGs/SETTINGS a client never reads (flood protection).
    maxOutstandingPings: 10,
    maxSettings: 32,
  });
  server.on('stream', onStream);
  server.on('session', (session) => {
    sessions.add(session);
    session.on('error', () => {});
    session.once('close', () => sessions.delete(session));
    if (closing) session.close();
  });
  server.on('sessionError', () => {});
  // Not an HTTP/2 connection preface (e.g. HTTP/1.1 or garbage): node answers and closes; keep the server quiet.
  server.on('unknownProtocol', (socket) => socket.destroy());
  server.on('error', () => {});

  const unix = opts.listen.startsWith('unix:');
  const host = unix ? '' : opts.listen.slice(0, opts.listen.lastIndexOf(':')).replace(/^\[|\]$/g, '');
  await new Promise<void>((resolve, reject) => {
    const onErr = (e: Error): void => reject(e);
    server.once('error', onErr);
    const done = (): void => {
      server.off('error', onErr);
      resolve();
    };
    if (unix) {
      const path = opts.listen.slice('unix:'.length);
      rmSync(path, { force: true });
      server.listen(path, done);
    } else {
      server.listen(Number(opts.listen.slice(opts.listen.lastIndexOf(':') + 1)), host, done);
    }
  });
  const port = unix ? 0 : (server.address() as AddressInfo).port;
  const address = unix ? opts.listen : `${host.includes(':') ? `[${host}]` : host}:${port}`;

  const setServing = (s: boolean): void => {
    serving = s;
    for (const w of watchers) {
      if (!w.stream.destroyed)
        w.stream.write(frameMessage(health.res.encode({ status: statusOf(w.service) })));
    }
  };

  return {
    address,
    port,
    setServing,
    close() {
      closing ??= new Promise<void>((resolve) => {
        setServing(false);
        for (const w of watchers) if (!w.stream.destroyed) w.stream.end();
        watchers.clear();
        // GOAWAY on every session: in-flight streams finish, no new ones start; after drainMs, cut them.
        const timer = setTimeout(() => {
          for (const s of sessions) s.destroy();
        }, opts.drainMs ?? 5000);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        for (const s of sessions) s.close();
      });
      return closing;
    },
  };
}
