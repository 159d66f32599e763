/**
 * gRPC transport of the issuer endpoint: `sigil.issuer.v1.Issuer` (proto/sigil/issuer/v1/issuer.proto).
 * Thin like the HTTP one: decoded messages are mapped to the same JSON request shapes and handed to
 * {@link IssuerService}; errors become the SigilError's gRPC status with `CODE: message` details and
 * `sigil-code` trailing metadata. The operator credential comes from `authorization` metadata.
 */
import { type DescMessage, type DescMethodUnary, fromJson, type JsonValue, toJson } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { Issuer } from '../../gen/sigil/issuer/v1/issuer_pb.js';
import { SigilError } from '../lib/errors.js';
import { grpcService } from '../lib/grpc-service.js';
import { IssuerError } from './errors.js';
import type { Caller, IssuerService } from './service.js';

/** `sigil.issuer.v1.Issuer` for grpc-js (generated protobuf-es code), plus a client constructor for tests and tools. */
export function issuerGrpcService(): {
  service: grpc.ServiceDefinition;
  Client: grpc.ServiceClientConstructor;
} {
  const service = grpcService(Issuer);
  return { service, Client: grpc.makeGenericClientConstructor(service, 'Issuer') };
}

type Msg = Record<string, unknown>;

/**
 * A request message as the JSON API's request shape: proto field names (snake_case, the JSON names there), and
 * proto3 defaults (empty string, 0, []) left out, since proto3 cannot tell them from "not given".
 */
const asJson = (schema: DescMessage, m: unknown): Msg =>
  toJson(schema, m as never, { useProtoFieldName: true }) as Msg;

/** Repeated `aud` → the JSON form (one string stays a string). */
function withAud(m: Msg): Msg {
  const aud = m.aud;
  if (Array.isArray(aud) && aud.length === 1) return { ...m, aud: aud[0] };
  return m;
}

function caller(call: grpc.ServerUnaryCall<unknown, unknown>): Caller {
  const v = call.metadata.get('authorization')[0];
  const m = typeof v === 'string' ? /^Bearer +(\S+) *$/i.exec(v) : null;
  return { kind: 'remote', credential: m?.[1], via: 'grpc' };
}

/** Builds the gRPC service implementation for `service`. */
export function issuerGrpcHandlers(
  service: IssuerService,
  logger?: Logger,
): grpc.UntypedServiceImplementation {
  const unary =
    (
      method: DescMethodUnary,
      fn: (req: Msg, call: grpc.ServerUnaryCall<unknown, unknown>) => unknown,
    ): grpc.handleUnaryCall<unknown, unknown> =>
    (call, callback) => {
      void (async () => {
        try {
          // The service answers in the JSON API's shape; fields the message does not have are not sent.
          const answer = (await fn(asJson(method.input, call.request), call)) as JsonValue;
          callback(null, fromJson(method.output, answer, { ignoreUnknownFields: true }));
        } catch (e) {
          const err = e instanceof SigilError ? e : new IssuerError('ISSUER_INTERNAL', 'internal error', e);
          if (!(e instanceof SigilError)) logger?.error({ err: e }, 'issuer grpc: unexpected error');
          const md = new grpc.Metadata();
          md.set('sigil-code', err.code);
          callback({ code: err.grpcStatus, details: `${err.code}: ${err.message}`, metadata: md });
        }
      })();
    };
  const m = Issuer.method;
  return {
    Mint: unary(m.mint, (req, call) => {
      const c = caller(call);
      service.checkOperator(c, 'mint');
      return service.mint(withAud(req), c);
    }),
    Delegate: unary(m.delegate, (req) => service.delegate(withAud(req), 'grpc')),
    Revoke: unary(m.revoke, (req, call) => {
      const c = caller(call);
      service.checkOperator(c, 'revoke');
      return service.revokeInForce(req, c);
    }),
    GetJwks: unary(m.getJwks, () => service.jwks()),
    GetIdentity: unary(m.getIdentity, () => service.identity()),
  };
}

/** Creates a gRPC server (not yet bound) serving `sigil.issuer.v1.Issuer`. */
export function createIssuerGrpcServer(service: IssuerService, logger?: Logger): grpc.Server {
  // 64 KiB request limit, the same as the HTTP body limit.
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 });
  server.addService(grpcService(Issuer), issuerGrpcHandlers(service, logger));
  return server;
}
