/**
 * What a real Envoy sends on each ext_authz Check call with envoy/sidecar.yaml: a recording HTTP/2 server
 * stands in for SIGIL and keeps the call's headers. The config sets `skip_envoy_headers`, so the call carries
 * gRPC's own metadata (and the grpc-timeout SIGIL enforces) but not Envoy's x-envoy-internal / x-forwarded-for
 * (docs/authz.md §7: every header value costs SIGIL's node:http2 an external string). The stand-in answers
 * with a gRPC error, so the same run shows Envoy failing closed (503, upstream untouched).
 */
import { createServer, type Http2Server, type IncomingHttpHeaders } from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EnvoyProcess, startTestEnvoy } from '../support/envoy.js';
import { type EchoUpstream, startEchoUpstream } from '../support/upstream.js';

let authz: Http2Server;
let calls: IncomingHttpHeaders[];
let upstream: EchoUpstream;
let envoy: EnvoyProcess;

beforeAll(async () => {
  calls = [];
  authz = createServer();
  authz.on('stream', (stream, headers) => {
    calls.push(headers);
    stream.on('error', () => undefined);
    stream.resume();
    // A trailers-only gRPC error: UNAVAILABLE.
    stream.respond(
      { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '14' },
      { endStream: true },
    );
  });
  await new Promise<void>((resolve) => authz.listen(0, '127.0.0.1', resolve));
  const address = authz.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  upstream = await startEchoUpstream();
  envoy = await startTestEnvoy(address.port, upstream.port);
}, 60_000);

afterAll(async () => {
  await envoy?.stop();
  await upstream?.close();
  await new Promise((resolve) => authz?.close(resolve));
});

async function get(path: string): Promise<number> {
  const res = await fetch(`${envoy.url}${path}`, { headers: { authorization: 'Bearer x.y.z' } });
  await res.arrayBuffer();
  return res.status;
}

describe('envoy/sidecar.yaml: the Check call’s metadata', () => {
  it('carries the gRPC call headers and the deadline, not x-envoy-internal / x-forwarded-for; an erroring authorizer gets 503', async () => {
    expect(await get('/tools/fs.read')).toBe(503);
    expect(upstream.seen).toHaveLength(0);
    expect(calls).toHaveLength(1);
    const h = calls[0]!;
    expect(h[':method']).toBe('POST');
    expect(h[':path']).toBe('/envoy.service.auth.v3.Authorization/Check');
    expect(h['content-type']).toBe('application/grpc');
    expect(h.te).toBe('trailers');
    expect(h['grpc-timeout']).toMatch(/^\d{1,8}[HMSmun]$/);
    // skip_envoy_headers drops x-envoy-internal and x-forwarded-for; Envoy's router still adds the timeout hint.
    const envoyAdded = Object.keys(h).filter((k) => k.startsWith('x-envoy-') || k === 'x-forwarded-for');
    expect(envoyAdded).toEqual(['x-envoy-expected-rq-timeout-ms']);
  });
});
