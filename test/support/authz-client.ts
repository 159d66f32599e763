/** gRPC clients of SIGIL's ext_authz and health services, on the generated protobuf-es code (gen/). */
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { type ChannelOptions, type Client, credentials, makeGenericClientConstructor } from '@grpc/grpc-js';
import {
  Authorization,
  CheckRequestSchema,
  type CheckResponse,
} from '../../gen/envoy/service/auth/v3/external_auth_pb.js';
import {
  Health,
  HealthCheckRequestSchema,
  type HealthCheckResponse,
} from '../../gen/grpc/health/v1/health_pb.js';
import { grpcService } from '../../src/lib/grpc-service.js';

type Unary = (req: unknown, cb: (err: Error | null, res: unknown) => void) => void;

/** Calls unary `method` of `client` with an already built message. */
export function unary<Res>(client: Client, method: string, req: unknown): Promise<Res> {
  return new Promise((resolve, reject) =>
    (client as unknown as Record<string, Unary>)[method]!.call(client, req, (e, r) =>
      e ? reject(e) : resolve(r as Res),
    ),
  );
}

/**
 * A client of envoy.service.auth.v3.Authorization at `address` (`host:port` or `unix:/path`). `options` are
 * grpc-js channel options (e.g. `grpc.use_local_subchannel_pool: 1` for a connection of its own).
 */
export function authzClient(address: string, options?: ChannelOptions): Client {
  const Ctor = makeGenericClientConstructor(grpcService(Authorization), 'Authorization');
  return new Ctor(address, credentials.createInsecure(), options);
}

/** A client of grpc.health.v1.Health at `address`. */
export function healthClient(address: string): Client {
  const Ctor = makeGenericClientConstructor(grpcService(Health), 'Health');
  return new Ctor(address, credentials.createInsecure());
}

/** Authorization/Check over the wire; `req` may be a partial init (everything else its default). */
export function callCheck(
  client: Client,
  req: MessageInitShape<typeof CheckRequestSchema>,
): Promise<CheckResponse> {
  return unary(client, 'Check', create(CheckRequestSchema, req));
}

/** Health/Check over the wire. */
export function callHealth(client: Client, service = ''): Promise<HealthCheckResponse> {
  return unary(client, 'Check', create(HealthCheckRequestSchema, { service }));
}
