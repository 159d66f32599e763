/**
 * The grpc-js floor for bench:check: the same protos and server options as SIGIL's authz server, but the
 * handler answers a constant OK CheckResponse without looking at the request. Its CPU per call is what
 * @grpc/grpc-js (HTTP/2 framing, protobufjs decode/encode) costs before SIGIL does any work.
 * Usage: tsx bench/check-floor-server.ts <port>; prints "floor listening" when ready.
 */
import { startAuthzServer } from '../src/authz/server.js';
import type { CheckResponse } from '../src/authz/types.js';

const ok: CheckResponse = {
  status: { code: 0, message: '' },
  okResponse: { headers: [], headersToRemove: [], responseHeadersToAdd: [] },
};
const server = await startAuthzServer({
  listen: `127.0.0.1:${process.argv[2] ?? '0'}`,
  check: async () => ok,
});
console.log(`floor listening ${server.address}`);
process.once('SIGTERM', () => {
  server.close().then(() => process.exit(0));
});
