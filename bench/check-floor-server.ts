/**
 * The grpc-js floor for bench:check: the same protos and server options as SIGIL's authz server, but the
 * handler answers a constant OK CheckResponse without looking at the request. Its CPU per call is what
 * @grpc/grpc-js (HTTP/2 framing) and the protobuf-es decode/encode costs before SIGIL does any work.
 * Usage: tsx bench/check-floor-server.ts <port> [grpc-js|h2c]; prints "floor listening" when ready.
 */
import { create } from '@bufbuild/protobuf';
import { CheckResponseSchema } from '../gen/envoy/service/auth/v3/external_auth_pb.js';
import { startAuthzServer } from '../src/authz/server.js';

const ok = create(CheckResponseSchema, {
  status: { code: 0, message: '' },
  httpResponse: { case: 'okResponse', value: {} },
});
const server = await startAuthzServer({
  listen: `127.0.0.1:${process.argv[2] ?? '0'}`,
  check: async () => ok,
  transport: process.argv[3] === 'h2c' ? 'h2c' : 'grpc-js',
});
console.log(`floor listening ${server.address}`);
process.once('SIGTERM', () => {
  server.close().then(() => process.exit(0));
});
