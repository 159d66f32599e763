/**
 * The ext_authz gRPC server: envoy.service.auth.v3.Authorization/Check plus grpc.health.v1.Health,
 * on host:port or unix:/path. `close()` drains in-flight Checks before it resolves.
 */
import { rmSync } from 'node:fs';
import { create } from '@bufbuild/protobuf';
import {
  status as grpcStatus,
  Server,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
} from '@grpc/grpc-js';
import {
  Authorization,
  type CheckRequest,
  type CheckResponse,
} from '../../gen/envoy/service/auth/v3/external_auth_pb.js';
import {
  Health,
  type HealthCheckRequest,
  type HealthCheckResponse,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as Serving,
} from '../../gen/grpc/health/v1/health_pb.js';
import { bindGrpc, grpcService, shutdownGrpc } from '../lib/grpc-service.js';
import type { CheckFn } from './check.js';
import { startH2cAuthzServer } from './h2c/start-h2c-server.js';
import { releaseRequest } from './lib/release-request.js';
import { denyResponse, INTERNAL } from './respond.js';

/** Options of {@link startAuthzServer}. */
export interface AuthzServerOptions {
  /** `host:port` (port 0 = ephemeral) or `unix:/path`. */
  listen: string;
  check: CheckFn;
  /** Largest CheckRequest accepted, bytes (body + headers). Default 4 MiB. */
  maxMessageBytes?: number;
  /** How long close() waits for in-flight calls before cancelling them. Default 5000 ms. */
  drainMs?: number;
  /**
   * Remove a stale `unix:` socket file before binding (default true). False in a Check worker: the cluster
   * primary owns the shared socket, and a second worker removing it would cut off the first.
   */
  removeStaleSocket?: boolean;
  /**
   * The listener's gRPC stack: `h2c` is SIGIL's own HTTP/2 connection layer (src/authz/h2c/), `grpc-js` is
   * @grpc/grpc-js on node:http2 (docs/authz.md §Transport). Default `grpc-js`.
   */
  transport?: AuthzTransport;
  /**
   * Close a connection with no call open for this long (GOAWAY, NO_ERROR). Default 0: never (gRPC's own
   * default, `grpc.max_connection_idle_ms`); `sigil serve` sets `sigil.authz.idle_timeout_s`.
   */
  idleTimeoutMs?: number;
}

/** The ext_authz listener's gRPC stack (`sigil.authz.transport`). */
export type AuthzTransport = 'h2c' | 'grpc-js';

/** A running authz server. */
export interface AuthzServer {
  /** The bound address: `127.0.0.1:<port>` or `unix:/path`. */
  address: string;
  /** Bound TCP port (0 for unix sockets). */
  port: number;
  /** Stops accepting, reports NOT_SERVING, waits for in-flight Checks (up to drainMs), then stops. */
  close(): Promise<void>;
}

/** Starts the server; resolves once it is listening. */
export async function startAuthzServer(opts: AuthzServerOptions): Promise<AuthzServer> {
  if (opts.transport === 'h2c') return startH2cAuthzServer(opts);
  const server = new Server({
    'grpc.max_receive_message_length': opts.maxMessageBytes ?? 4 * 1024 * 1024,
    'grpc.max_send_message_length': 4 * 1024 * 1024,
    // Channelz keeps per-call statistics nobody reads here; it showed up in the Check profile.
    'grpc.enable_channelz': 0,
    ...(opts.idleTimeoutMs ? { 'grpc.max_connection_idle_ms': opts.idleTimeoutMs } : {}),
  });
  let serving = true;
  const watchers = new Set<ServerWritableStream<HealthCheckRequest, HealthCheckResponse>>();
  const statusOf = (svc: string): HealthCheckResponse =>
    create(HealthCheckResponseSchema, {
      status:
        svc !== '' && svc !== Authorization.typeName
          ? Serving.SERVICE_UNKNOWN
          : serving
            ? Serving.SERVING
            : Serving.NOT_SERVING,
    });

  server.addService(grpcService(Authorization), {
    Check: (call: ServerUnaryCall<CheckRequest, CheckResponse>, cb: sendUnaryData<CheckResponse>) => {
      const req = call.request;
      const internal = (): void => {
        releaseRequest(req);
        cb(null, denyResponse({ decisionId: 'none', ...INTERNAL }));
      };
      // createCheck never throws or rejects; the guards are for a future bug: Envoy still gets a deny.
      let pending: Promise<CheckResponse>;
      try {
        pending = opts.check(req);
      } catch {
        internal();
        return;
      }
      pending.then((res) => {
        releaseRequest(req);
        cb(null, res);
      }, internal);
    },
  });
  server.addService(grpcService(Health), {
    Check: (
      call: ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>,
      cb: sendUnaryData<HealthCheckResponse>,
    ) => {
      const s = statusOf(call.request.service);
      if (s.status === Serving.SERVICE_UNKNOWN)
        cb({ code: grpcStatus.NOT_FOUND, details: 'unknown service' });
      else cb(null, s);
    },
    // biome-ignore lint/correctness/noComponentHookFactories: a gRPC method name, not a React component.
    Watch: (call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) => {
      call.write(statusOf(call.request.service));
      watchers.add(call);
      call.on('cancelled', () => watchers.delete(call));
      call.on('close', () => watchers.delete(call));
    },
  });

  if (opts.listen.startsWith('unix:') && opts.removeStaleSocket !== false)
    rmSync(opts.listen.slice('unix:'.length), { force: true });
  const { target: address, port } = await bindGrpc(server, opts.listen);

  let closing: Promise<void> | undefined;
  return {
    address,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        serving = false;
        // Watchers get NOT_SERVING before their stream ends, so Envoy stops routing here first.
        for (const w of watchers) {
          w.write(statusOf(w.request.service));
          w.end();
        }
        watchers.clear();
        resolve(shutdownGrpc(server, opts.drainMs ?? 5000));
      });
      return closing;
    },
  };
}
