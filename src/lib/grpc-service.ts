/**
 * grpc-js service definitions for the protobuf-es services generated into gen/: every method is (de)serialized
 * with its schema's `toBinary`/`fromBinary`, so grpc-js needs no proto-loader or protobufjs.
 */
import { type DescService, fromBinary, toBinary } from '@bufbuild/protobuf';
import { type MethodDefinition, type Server, ServerCredentials, type ServiceDefinition } from '@grpc/grpc-js';
import { ListenError } from './listen.js';

/** A view of the encoder's bytes (no copy): grpc-js frames Buffers. */
const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/** Unknown fields are dropped: nothing forwards them, and a hostile peer could make them large. */
const READ = { readUnknownFields: false };

/**
 * The grpc-js definition of `service`, keyed by the proto method name (`Check`, `Watch`, `Mint`, …). A message
 * that does not decode makes grpc-js answer the call with an error status; it never reaches a handler.
 */
export function grpcService(service: DescService): ServiceDefinition {
  const def: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const m of service.methods) {
    const stream = (side: 'client' | 'server') =>
      m.methodKind === `${side}_streaming` || m.methodKind === 'bidi_streaming';
    def[m.name] = {
      path: `/${service.typeName}/${m.name}`,
      requestStream: stream('client'),
      responseStream: stream('server'),
      requestSerialize: (msg) => asBuffer(toBinary(m.input, msg as never)),
      requestDeserialize: (bytes) => fromBinary(m.input, bytes, READ),
      responseSerialize: (msg) => asBuffer(toBinary(m.output, msg as never)),
      responseDeserialize: (bytes) => fromBinary(m.output, bytes, READ),
      originalName: m.localName,
    };
  }
  return def;
}

/**
 * Binds `server` on a listen string (`host:port`, `[v6]:port` or `unix:/path`) without TLS: the listeners are
 * loopback, a unix socket or inside the mesh (docs/api.md §Issuer security). Resolves the client target and the
 * bound port (0 for a unix socket).
 * @throws ListenError when the address cannot be bound.
 */
export function bindGrpc(server: Server, where: string): Promise<{ target: string; port: number }> {
  return new Promise((resolve, reject) => {
    server.bindAsync(where, ServerCredentials.createInsecure(), (err, port) => {
      if (err) return reject(ListenError.from(where, 'grpc', err));
      if (where.startsWith('unix:')) return resolve({ target: where, port: 0 });
      resolve({ target: `${where.slice(0, where.lastIndexOf(':'))}:${port}`, port });
    });
  });
}

/** Stops `server` gracefully; calls still running after `graceMs` are cut. */
export function shutdownGrpc(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.forceShutdown(), graceMs);
    timer.unref();
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
