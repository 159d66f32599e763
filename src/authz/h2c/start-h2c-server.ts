/**
 * The ext_authz gRPC service on SIGIL's own HTTP/2 connection layer (./connection.ts) instead of
 * @grpc/grpc-js on node:http2: envoy.service.auth.v3.Authorization/Check and grpc.health.v1.Health Check and
 * Watch, plaintext h2c with prior knowledge (what Envoy's grpc_service cluster speaks), on host:port or
 * unix:/path. Same options, address and drain contract as the grpc-js server (../server.ts), same codec.
 *
 * Protocol: gRPC over HTTP/2 (grpc/doc/PROTOCOL-HTTP2.md). Why a second server: docs/authz.md §Transport.
 */
import { rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { create, type DescMessage, fromBinary, type MessageShape, toBinary } from '@bufbuild/protobuf';
import {
  type CheckRequest,
  CheckRequestSchema,
  type CheckResponse,
  CheckResponseSchema,
} from '../../../gen/envoy/service/auth/v3/external_auth_pb.js';
import {
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as Serving,
} from '../../../gen/grpc/health/v1/health_pb.js';
import { listenHttp } from '../../lib/listen.js';
import { releaseRequest } from '../lib/release-request.js';
import { denyResponse, INTERNAL } from '../respond.js';
import type { AuthzServer, AuthzServerOptions } from '../server.js';
import { H2cConnection, type H2cLimits, type H2cStream } from './connection.js';
import { type Field, headerBlock, MAX_WINDOW, NAME } from './frames.js';
import {
  type FrameProblem,
  frameMessage,
  parseGrpcTimeout,
  percentEncode,
  UnaryMessageReader,
} from './grpc-frame.js';

/** gRPC status codes used here (grpc/doc/statuscodes.md). */
const Code = {
  OK: 0,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
} as const;

const CHECK_PATH = '/envoy.service.auth.v3.Authorization/Check';
const HEALTH_CHECK_PATH = '/grpc.health.v1.Health/Check';
const HEALTH_WATCH_PATH = '/grpc.health.v1.Health/Watch';
const AUTHZ_SERVICE = 'envoy.service.auth.v3.Authorization';

const PROBLEM_STATUS: Readonly<Record<FrameProblem, readonly [number, string]>> = {
  'too-large': [Code.RESOURCE_EXHAUSTED, 'request message larger than the limit'],
  // Compressed-Flag set with no grpc-encoding negotiated → INTERNAL (grpc/doc/compression.md).
  compressed: [Code.INTERNAL, 'compressed message without a negotiated grpc-encoding'],
  'extra-data': [Code.INTERNAL, 'more than one request message on a unary call'],
  truncated: [Code.INTERNAL, 'truncated request message'],
  empty: [Code.INTERNAL, 'no request message on a unary call'],
};

/** Response header blocks, built once (PROTOCOL-HTTP2 §Responses). */
const GRPC_TYPE: Field = [NAME.CONTENT_TYPE, 'application/grpc'];
const OK_HEADERS = headerBlock([[NAME.STATUS, '200'], GRPC_TYPE]);
const OK_TRAILERS = headerBlock([['grpc-status', '0']]);
const METHOD_NOT_ALLOWED = headerBlock([
  [NAME.STATUS, '405'],
  [NAME.ALLOW, 'POST'],
]);
const UNSUPPORTED_MEDIA_TYPE = headerBlock([[NAME.STATUS, '415']]);

/** Trailers-Only (PROTOCOL-HTTP2 §Responses): the status in the one HEADERS frame that ends the stream. */
function statusBlock(code: number, message: string, extra: readonly Field[] = []): Buffer {
  // Bounded: a message may echo what the client sent (an unknown path).
  const m = message.length > 256 ? `${message.slice(0, 256)}…` : message;
  return headerBlock([
    [NAME.STATUS, '200'],
    GRPC_TYPE,
    ['grpc-status', String(code)],
    ['grpc-message', percentEncode(m)],
    ...extra,
  ]);
}

/** Unknown fields are dropped, as on the grpc-js server: nothing forwards them. */
const READ = { readUnknownFields: false };

/** The answer when the pipeline itself failed (it never should: createCheck turns errors into denies). */
const INTERNAL_DENY = denyResponse({ decisionId: 'none', ...INTERNAL });

/** How often pending calls are checked against their grpc-timeout, and connections against their limits. */
const DEADLINE_SWEEP_MS = 50;
/** A connection that has not sent the HTTP/2 preface and SETTINGS by then is not a client: closed. */
const PREFACE_TIMEOUT_MS = 10_000;

/** A connection's idle bookkeeping: since when no call was open, as of which highest stream id. */
interface IdleState {
  since: number;
  lastStream: number;
}
/** After the first GOAWAY of an idle close, how long the PING's ACK is waited for before draining anyway. */
const GOAWAY_ACK_MS = 1000;

/**
 * Starts the ext_authz server on the h2c transport; same contract as the grpc-js `startAuthzServer`.
 * @throws ListenError when the address cannot be bound.
 */
export async function startH2cAuthzServer(opts: AuthzServerOptions): Promise<AuthzServer> {
  const maxBytes = opts.maxMessageBytes ?? 4 * 1024 * 1024;
  const limits: H2cLimits = {
    maxConcurrentStreams: 1000,
    // gRPC's default metadata limit is 8 KiB (grpc.max_metadata_size); an ext_authz call carries a few hundred
    // bytes. The request itself travels in DATA.
    maxHeaderListSize: 16 * 1024,
    // One unary request fits its stream window, so the server never sends a stream WINDOW_UPDATE.
    streamWindow: Math.min(MAX_WINDOW, maxBytes + 5 + 1024),
    connectionWindow: Math.min(MAX_WINDOW, Math.max(16 * 1024 * 1024, 2 * (maxBytes + 5))),
    maxOutboundBytes: 64 * 1024 * 1024,
  };

  let serving = true;
  let closing: Promise<void> | undefined;
  const conns = new Map<H2cConnection, IdleState>();
  const idleMs = opts.idleTimeoutMs ?? 0;
  const watchers = new Map<H2cStream, { conn: H2cConnection; service: string }>();

  const statusOf = (svc: string): Serving =>
    svc !== '' && svc !== AUTHZ_SERVICE
      ? Serving.SERVICE_UNKNOWN
      : serving
        ? Serving.SERVING
        : Serving.NOT_SERVING;
  const healthStatus = (svc: string) => create(HealthCheckResponseSchema, { status: statusOf(svc) });
  /** A framed message for the Watch stream's DATA. */
  const healthMessage = (svc: string): Buffer =>
    frameMessage(toBinary(HealthCheckResponseSchema, healthStatus(svc)));

  const fail = (conn: H2cConnection, s: H2cStream, code: number, message: string): void => {
    s.deadline = 0;
    conn.sendHeaders(s, statusBlock(code, message), true);
  };
  /** Headers, one message (protobuf bytes, not yet framed), trailers with grpc-status 0. */
  const replyUnary = (conn: H2cConnection, s: H2cStream, message: Uint8Array): void => {
    s.deadline = 0;
    conn.sendUnary(s, OK_HEADERS, message, OK_TRAILERS);
  };

  /** Reads exactly one request message, then hands it to `handle`. */
  const unary = (conn: H2cConnection, s: H2cStream, handle: (msg: Buffer) => void): void => {
    const reader = new UnaryMessageReader(maxBytes);
    s.onData = (chunk) => {
      const problem = reader.push(chunk);
      if (problem !== undefined) {
        const [code, msg] = PROBLEM_STATUS[problem];
        fail(conn, s, code, msg);
      }
    };
    s.onEnd = () => {
      if (s.localClosed) return;
      const msg = reader.finish();
      if (typeof msg === 'string') {
        const [code, text] = PROBLEM_STATUS[msg];
        fail(conn, s, code, text);
      } else handle(msg);
    };
  };

  const decodeOr = <D extends DescMessage>(
    conn: H2cConnection,
    s: H2cStream,
    schema: D,
    msg: Buffer,
  ): MessageShape<D> | undefined => {
    try {
      return fromBinary(schema, msg, READ);
    } catch {
      fail(conn, s, Code.INTERNAL, 'error deserializing request');
      return undefined;
    }
  };

  const onCheck = (conn: H2cConnection, s: H2cStream): void =>
    unary(conn, s, (msg) => {
      const req: CheckRequest | undefined = decodeOr(conn, s, CheckRequestSchema, msg);
      if (req === undefined) return;
      s.busy = true;
      const answer = (res: CheckResponse | undefined): void => {
        conn.finish(s);
        releaseRequest(req);
        let bytes: Uint8Array;
        try {
          bytes = toBinary(CheckResponseSchema, res ?? INTERNAL_DENY);
        } catch {
          // A response that does not encode is a bug; Envoy still gets a deny, not a hung call.
          bytes = toBinary(CheckResponseSchema, INTERNAL_DENY);
        }
        replyUnary(conn, s, bytes);
      };
      // createCheck never throws or rejects; the guards are for a future bug: Envoy still gets a deny.
      let pending: Promise<CheckResponse>;
      try {
        pending = opts.check(req);
      } catch {
        answer(undefined);
        return;
      }
      pending.then(answer, () => answer(undefined));
    });

  const onHealthCheck = (conn: H2cConnection, s: H2cStream): void =>
    unary(conn, s, (msg) => {
      const req = decodeOr(conn, s, HealthCheckRequestSchema, msg);
      if (req === undefined) return;
      if (statusOf(req.service) === Serving.SERVICE_UNKNOWN) fail(conn, s, Code.NOT_FOUND, 'unknown service');
      else replyUnary(conn, s, toBinary(HealthCheckResponseSchema, healthStatus(req.service)));
    });

  const onHealthWatch = (conn: H2cConnection, s: H2cStream): void =>
    unary(conn, s, (msg) => {
      // The deadline bounds the wait for the request; the stream itself lives until the client or close() ends it.
      s.deadline = 0;
      const req = decodeOr(conn, s, HealthCheckRequestSchema, msg);
      if (req === undefined) return;
      conn.sendHeaders(s, OK_HEADERS, false);
      conn.sendData(s, healthMessage(req.service), closing ? OK_TRAILERS : undefined);
      if (!s.localClosed) watchers.set(s, { conn, service: req.service });
    });

  const onRequest = (conn: H2cConnection, s: H2cStream): void => {
    // PROTOCOL-HTTP2 §Requests: POST only; anything else gets the plain HTTP error.
    if (s.method !== 'POST') {
      conn.sendHeaders(s, METHOD_NOT_ALLOWED, true);
      return;
    }
    // "application/grpc", optionally "+proto" or ";params"; anything else is not gRPC → HTTP 415.
    const ct = s.contentType;
    if (ct === undefined || !/^application\/grpc(?:\+proto)?(?:;.*)?$/i.test(ct)) {
      conn.sendHeaders(s, UNSUPPORTED_MEDIA_TYPE, true);
      return;
    }
    if (s.grpcEncoding !== undefined && s.grpcEncoding !== 'identity') {
      const why = `unsupported grpc-encoding ${s.grpcEncoding}`;
      conn.sendHeaders(s, statusBlock(Code.UNIMPLEMENTED, why, [['grpc-accept-encoding', 'identity']]), true);
      return;
    }
    if (s.grpcTimeout !== undefined) {
      const ms = parseGrpcTimeout(s.grpcTimeout);
      if (ms === undefined) {
        fail(conn, s, Code.INTERNAL, 'malformed grpc-timeout');
        return;
      }
      s.deadline = performance.now() + ms;
    }
    switch (s.path) {
      case CHECK_PATH:
        onCheck(conn, s);
        return;
      case HEALTH_CHECK_PATH:
        onHealthCheck(conn, s);
        return;
      case HEALTH_WATCH_PATH:
        onHealthWatch(conn, s);
        return;
      default:
        fail(conn, s, Code.UNIMPLEMENTED, `unknown method ${s.path}`);
        return;
    }
  };

  /**
   * Idle connections: none of its calls open, and no new one since the last look. Checked by the sweep, so
   * the hot path does no bookkeeping; the timeout is late by at most one sweep.
   */
  const closeIfIdle = (c: H2cConnection, st: IdleState, now: number): void => {
    if (c.goingAway) {
      if (now - st.since >= idleMs + GOAWAY_ACK_MS) c.drain();
    } else if (c.activeStreams > 0 || c.lastStreamId !== st.lastStream) {
      st.since = now;
      st.lastStream = c.lastStreamId;
    } else if (now - st.since >= idleMs) c.goAway();
  };

  // One coarse timer for every call's grpc-timeout instead of a timer per call; Envoy enforces its own. It runs
  // only while there are connections.
  let sweep: NodeJS.Timeout | undefined;
  const sweepOnce = (): void => {
    for (const s of watchers.keys()) if (s.localClosed) watchers.delete(s);
    const now = performance.now();
    for (const [c, st] of conns) {
      if (!c.started) {
        if (now - c.openedAt >= PREFACE_TIMEOUT_MS) c.destroy();
        continue;
      }
      for (const s of c.openStreams())
        if (s.deadline !== 0 && s.deadline <= now) fail(c, s, Code.DEADLINE_EXCEEDED, 'deadline exceeded');
      if (idleMs > 0) closeIfIdle(c, st, now);
    }
  };

  const handler = {
    onRequest,
    onClose: (conn: H2cConnection) => {
      conns.delete(conn);
      for (const [s, w] of watchers) if (w.conn === conn) watchers.delete(s);
      if (conns.size === 0 && sweep !== undefined) {
        clearInterval(sweep);
        sweep = undefined;
      }
    },
  };
  const server = createServer({ noDelay: true }, (socket: Socket) => {
    const conn = new H2cConnection(socket, limits, handler);
    conns.set(conn, { since: conn.openedAt, lastStream: 0 });
    if (sweep === undefined) {
      sweep = setInterval(sweepOnce, DEADLINE_SWEEP_MS);
      sweep.unref();
    }
    if (closing) conn.drain();
  });
  server.on('error', () => {});

  const unix = opts.listen.startsWith('unix:');
  if (unix && opts.removeStaleSocket !== false) rmSync(opts.listen.slice('unix:'.length), { force: true });
  const { url, port } = await listenHttp(server, opts.listen, 'grpc');
  const address = unix ? url : url.slice('http://'.length);

  return {
    address,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        serving = false;
        // Watchers get NOT_SERVING before their stream ends, so Envoy stops routing here first.
        for (const [s, w] of watchers) w.conn.sendData(s, healthMessage(w.service), OK_TRAILERS);
        watchers.clear();
        const timer = setTimeout(() => {
          for (const c of conns.keys()) c.destroy();
        }, opts.drainMs ?? 5000);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          clearInterval(sweep);
          sweep = undefined;
          resolve();
        });
        // GOAWAY on every connection: calls in flight finish, no new ones start.
        for (const c of conns.keys()) c.drain();
      });
      return closing;
    },
  };
}
