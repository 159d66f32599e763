/**
 * The transport floor (bench:e2e configuration `grpc-floor`): SIGIL's own ext_authz gRPC server on its
 * default transport (src/authz/server.ts, `sigil.authz.transport`: h2c; `SIGIL_FLOOR_TRANSPORT=grpc-js` for the
 * other) with a
 * trivial decision instead of the pipeline, so a run shows how much of SIGIL's cost per Check is the
 * transport alone, and what the rig sustains with an authorizer that does no work (the ceiling any
 * authorizer's max throughput meets here). It is NOT an authorizer: it reads the expected outcome from
 * the benchmark's own `case=` query parameter and checks nothing.
 */
import { pathToFileURL } from 'node:url';
import { create } from '@bufbuild/protobuf';
import type * as ExtAuthzModule from '../../gen/envoy/service/auth/v3/external_auth_pb.js';
import type { CheckRequest, CheckResponse } from '../../gen/envoy/service/auth/v3/external_auth_pb.js';
import type * as ServerModule from '../../src/authz/server.js';
import type * as ConfigModule from '../../src/config/index.js';
import type * as ServeModule from '../../src/serve/index.js';

// The compiled modules when the run measures compiled SIGIL (same code SIGIL runs), else the sources.
const compiled = process.env.SIGIL_FLOOR_SERVER;
const mod = (src: string, dist: string) =>
  compiled ? new URL(dist, pathToFileURL(compiled)).href : new URL(src, import.meta.url).href;
const { startAuthzServer } = (await import(
  mod('../../src/authz/server.js', './server.js')
)) as typeof ServerModule;
const { CheckResponseSchema } = (await import(
  mod(
    '../../gen/envoy/service/auth/v3/external_auth_pb.js',
    '../../gen/envoy/service/auth/v3/external_auth_pb.js',
  )
)) as typeof ExtAuthzModule;
const { loadConfig } = (await import(
  mod('../../src/config/index.js', '../config/index.js')
)) as typeof ConfigModule;
const { tuneRuntime } = (await import(
  mod('../../src/serve/tune-runtime.js', '../serve/tune-runtime.js')
)) as Pick<typeof ServeModule, 'tuneRuntime'>;
// The same V8 settings `sigil serve` runs with by default (sigil.runtime), so the floor stays the
// transport's own ceiling and tail.
const config = loadConfig({ env: {} });
tuneRuntime(config.runtime);
const transport = process.env.SIGIL_FLOOR_TRANSPORT ?? config.authz.transport;

// The answers are built once: the floor measures the transport, not message construction.
const ALLOW = create(CheckResponseSchema, {
  status: { code: 0, message: '' },
  httpResponse: {
    case: 'okResponse',
    // 2 = OVERWRITE_IF_EXISTS_OR_ADD
    value: { headers: [{ header: { key: 'x-sigil-sub', value: 'spiffe://floor' }, appendAction: 2 }] },
  },
});
const deny = (http: 401 | 403): CheckResponse =>
  create(CheckResponseSchema, {
    status: { code: http === 401 ? 16 : 7, message: 'floor' },
    httpResponse: { case: 'deniedResponse', value: { status: { code: http }, body: '{"code":"FLOOR"}' } },
  });
const DENY_401 = deny(401);
const DENY_403 = deny(403);

async function decide(req: CheckRequest): Promise<CheckResponse> {
  const path = req.attributes?.request?.http?.path ?? '';
  const c = /[?&]case=([a-z_]+)/.exec(path)?.[1];
  if (c === 'allow') return ALLOW;
  return c === 'bad_token' ? DENY_401 : DENY_403;
}

const server = await startAuthzServer({
  listen: process.argv[2] ?? '127.0.0.1:0',
  check: decide,
  transport: transport === 'h2c' ? 'h2c' : 'grpc-js',
});
process.stdout.write(`floor listening 127.0.0.1:${server.port}\n`);
process.on('SIGTERM', () => {
  server.close().then(() => process.exit(0));
});
