/**
 * gRPC transport of the issuer endpoint: `sigil.issuer.v1.Issuer` (proto/sigil/issuer/v1/issuer.proto).
 * Thin like the HTTP one: decoded messages are mapped to the same JSON request shapes and handed to
 * {@link IssuerService}; errors become the SigilError's gRPC status with `CODE: message` details and
 * `sigil-code` trailing metadata. The operator credential comes from `authorization` metadata.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Logger } from 'pino';
import { SigilError } from '../lib/errors.js';
import { IssuerError } from './errors.js';
import type { Caller, IssuerService } from './service.js';

/** Path of the issuer proto, resolved from this file (works from src/ under tsx and from dist/). */
export function issuerProtoPath(): string {
  const here = fileURLToPath(import.meta.url);
  const root = here.includes('/dist/')
    ? here.slice(0, here.lastIndexOf('/dist/'))
    : here.slice(0, here.lastIndexOf('/src/'));
  return `${root}/proto/sigil/issuer/v1/issuer.proto`;
}

/** proto-loader options: snake_case fields (same names as the JSON API), defaults filled in. */
const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** Loads `sigil.issuer.v1` (service definition plus client constructor for tests and tools). */
export function loadIssuerProto(): {
  service: grpc.ServiceDefinition;
  Client: grpc.ServiceClientConstructor;
} {
  const def = protoLoader.loadSync(issuerProtoPath(), LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    sigil: { issuer: { v1: { Issuer: grpc.ServiceClientConstructor } } };
  };
  const Client = pkg.sigil.issuer.v1.Issuer;
  return { service: Client.service, Client };
}

type Msg = Record<string, unknown>;

/** Proto3 has no "absent" for scalars: empty string / 0 / [] / null mean "not given". */
function present(m: Msg): Msg {
  const out: Msg = {};
  for (const [k, v] of Object.entries(m)) {
    if (v === '' || v === 0 || v === null || v === undefined || (Array.isArray(v) && v.length === 0))
      continue;
    out[k] = typeof v === 'object' && !Array.isArray(v) ? present(v as Msg) : v;
  }
  return out;
}

/** Repeated `aud` → the JSON form (one string stays a string). */
function withAud(m: Msg): Msg {
  const aud = m.aud;
  if (Array.isArray(aud) && aud.length === 1) return { ...m, aud: aud[0] };
  return m;
}

function caller(call: grpc.ServerUnaryCall<unknown, unknown>): Caller {
  const v = call.metadata.get('authorization')[0];
  const m = typeof v === 'string' ? /^Bearer +(\S+) *$/i.exec(v) : null;
  return { kind: 'remote', credential: m?.[1] };
}

/** Builds the gRPC service implementation for `service`. */
export function issuerGrpcHandlers(
  service: IssuerService,
  logger?: Logger,
): grpc.UntypedServiceImplementation {
  const unary =
    (
      fn: (req: Msg, call: grpc.ServerUnaryCall<Msg, unknown>) => unknown,
    ): grpc.handleUnaryCall<Msg, unknown> =>
    (call, callback) => {
      try {
        callback(null, fn(call.request ?? {}, call));
      } catch (e) {
        const err = e instanceof SigilError ? e : new IssuerError('ISSUER_INTERNAL', 'internal error', e);
        if (!(e instanceof SigilError)) logger?.error({ err: e }, 'issuer grpc: unexpected error');
        const md = new grpc.Metadata();
        md.set('sigil-code', err.code);
        callback({ code: err.grpcStatus, details: `${err.code}: ${err.message}`, metadata: md });
      }
    };
  return {
    Mint: unary((req, call) => {
      const c = caller(call);
      service.checkOperator(c, 'mint');
      return service.mint(withAud(present(req)), c);
    }),
    Delegate: unary((req) => service.delegate(withAud(present(req)))),
    Revoke: unary((req, call) => {
      const c = caller(call);
      service.checkOperator(c, 'revoke');
      return service.revoke(present(req), c);
    }),
    GetJwks: unary(() => service.jwks()),
    GetIdentity: unary(() => service.identity()),
  };
}

/** Creates a gRPC server (not yet bound) serving `sigil.issuer.v1.Issuer`. */
export function createIssuerGrpcServer(service: IssuerService, logger?: Logger): grpc.Server {
  // 64 KiB request limit, the same as the HTTP body limit.
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 });
  server.addService(loadIssuerProto().service, issuerGrpcHandlers(service, logger));
  return server;
}
