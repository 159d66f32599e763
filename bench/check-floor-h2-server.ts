/**
 * The h2-transport floor for bench:check: bench/check-floor-server.ts (constant OK CheckResponse, no work) on
 * SIGIL's node:http2 transport (src/authz/h2) instead of @grpc/grpc-js — what the transport alone costs per call.
 * Usage: tsx bench/check-floor-h2-server.ts <port>; prints "floor listening" when ready.
 */
import { startH2AuthzServer } from '../src/authz/h2/start-h2-server.js';
import type { CheckResponse } from '../src/authz/types.js';

const ok: CheckResponse = {
  status: { code: 0, message: '' },
  okResponse: { headers: [], headersToRemove: [], responseHeadersToAdd: [] },
};
const server = await startH2AuthzServer({
  listen: `127.0.0.1:${process.argv[2] ?? '0'}`,
  check: async () => ok,
});
console.log(`floor listening ${server.address}`);
process.once('SIGTERM', () => {
  server.close().then(() => process.exit(0));
});
