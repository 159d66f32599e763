/**
 * The ext_authz gRPC server: envoy.service.auth.v3.Authorization/Check plus grpc.health.v1.Health,
 * on host:port or unix:/path. `close()` drains in-flight Checks before it resolves.
 */
import { rmSync } from 'node:fs';
import {
  type GrpcObject,
  status as grpcStatus,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceClientConstructor,
  type sendUnaryData,
} from '@grpc/grpc-js';
import type { CheckFn } from './check.js';
import { encodeCheckResponse } from './lib/encode-response.js';
import { withFullRequest } from './lib/lazy-request.js';
import { readCheckRequest } from './lib/read-check-request.js';
import { authzProtos } from './proto.js';
import { denyResponse } from './respond.js';
import type { CheckRequest, CheckResponse } from './types.js';

/** Options of {@link startAuthzServer}. */
export interface AuthzServerOptions {
  /** `host:port` (port 0 = ephemeral) or `unix:/path`. */
  listen: string;
  check: CheckFn;
  /** Largest CheckRequest accepted, bytes (body + headers). Default 4 MiB. */
  maxMessageBytes?: number;
  /** How long close() waits for in-flight calls before cancelling them. Default 5000 ms. */
  drainMs?: number;
}

/** A running authz server. */
export interface AuthzServer {
  /** The bound address: `127.0.0.1:<port>` or `unix:/path`. */
  address: string;
  /** Bound TCP port (0 for unix sockets). */
  port: number;
  /** Sets the grpc.health.v1 status reported for "" and the Authorization service. */
  setServing(serving: boolean): void;
  /** Stops accepting, reports NOT_SERVING, waits for in-flight Checks (up to drainMs), then stops. */
  close(): Promise<void>;
}

const AUTHZ_SERVICE = 'envoy.service.auth.v3.Authorization';

function service(grpc: GrpcObject, path: string): ServiceClientConstructor {
  let node: unknown = grpc;
  for (const part of path.split('.')) node = (node as Record<string, unknown>)[part];
  return node as ServiceClientConstructor;
}

/** Starts the server; resolves once it is listening. */
export async function startAuthzServer(opts: AuthzServerOptions): Promise<AuthzServer> {
  const { grpc } = authzProtos();
  const maxBytes = opts.maxMessageBytes ?? 4 * 1024 * 1024;
  const server = new Server({
    'grpc.max_receive_message_length': maxBytes,
    'grpc.max_send_message_length': 4 * 1024 * 1024,
    // Channelz keeps per-call statistics nobody reads here; it showed up in the Check profile.
    'grpc.enable_channelz': 0,
  });
  let serving = true;
  const watchers = new Set<ServerWritableStream<{ service?: string }, { status: string }>>();
  const statusOf = (svc: string | undefined): string => {
    if (svc && svc !== AUTHZ_SERVICE) return 'SERVICE_UNKNOWN';
    return serving ? 'SERVING' : 'NOT_SERVING';
  };

  const def = service(grpc, AUTHZ_SERVICE).service;
  const generic = def.Check!.responseSerialize as (v: CheckResponse) => Buffer;
  const fullDecode = def.Check!.requestDeserialize as (b: Buffer) => CheckRequest;
  const authzDef = {
    ...def,
    Check: {
      ...def.Check!,
      // Hot path: read only the pipeline's fields; the full proto-loader object is built if a policy asks for
      // it. Inputs the narrow reader does not model go through proto-loader as before (same object or error).
      requestDeserialize: (b: Buffer): CheckRequest => {
        const narrow = readCheckRequest(b);
        return narrow === undefined ? fullDecode(b) : withFullRequest(narrow, b, fullDecode);
      },
      // Direct encoder on the hot path (same bytes as protobufjs, tested); protobufjs for anything it refuses.
      responseSerialize: (v: CheckResponse): Buffer => {
        try {
          return encodeCheckResponse(v);
        } catch {
          return generic(v);
        }
      },
    },
  };
  server.addService(authzDef, {
    Check: (call: ServerUnaryCall<CheckRequest, CheckResponse>, cb: sendUnaryData<CheckResponse>) => {
      opts.check(call.request).then(
        (res) => cb(null, res),
        // createCheck never rejects; this guards a future bug so Envoy still gets a deny, not an error.
        () =>
          cb(
            null,
            denyResponse({
              decisionId: 'none',
              code: 'AUTHZ_INTERNAL',
              message: 'internal error',
              httpStatus: 500,
            }),
          ),
      );
    },
  });
  server.addService(service(grpc, 'grpc.health.v1.Health').service, {
    Check: (
      call: ServerUnaryCall<{ service?: string }, { status: string }>,
      cb: sendUnaryData<{ status: string }>,
    ) => {
      const s = statusOf(call.request.service);
      if (s === 'SERVICE_UNKNOWN') cb({ code: grpcStatus.NOT_FOUND, details: 'unknown service' });
      else cb(null, { status: s });
    },
    // biome-ignore lint/correctness/noComponentHookFactories: a gRPC method name, not a React component.
    Watch: (call: ServerWritableStream<{ service?: string }, { status: string }>) => {
      call.write({ status: statusOf(call.request.service) });
      watchers.add(call);
      call.on('cancelled', () => watchers.delete(call));
      call.on('close', () => watchers.delete(call));
    },
  });

  const unix = opts.listen.startsWith('unix:');
  if (unix) rmSync(opts.listen.slice('unix:'.length), { force: true });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(opts.listen, ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    );
  });
  const host = unix ? '' : opts.listen.slice(0, opts.listen.lastIndexOf(':'));
  const address = unix ? opts.listen : `${host}:${port}`;

  const setServing = (s: boolean): void => {
    serving = s;
    for (const w of watchers) w.write({ status: statusOf(w.request.service) });
  };

  let closing: Promise<void> | undefined;
  return {
    address,
    port: unix ? 0 : port,
    setServing,
    close() {
      closing ??= new Promise<void>((resolve) => {
        setServing(false);
        for (const w of watchers) w.end();
        watchers.clear();
        const timer = setTimeout(() => server.forceShutdown(), opts.drainMs ?? 5000);
        timer.unref();
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      return closing;
    },
  };
}
