/**
 * DoS-shaped load on the authz gRPC server (slow: `npm run test:slow`): thousands of concurrent hostile
 * Checks (garbage tokens, 1 MiB bodies, header floods) are all answered with denies, the server keeps
 * answering valid Checks in between, and the verified-chain cache never grows past its bound.
 */
import type { Client } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckRequest, CheckResponse } from '../../gen/envoy/service/auth/v3/external_auth_pb.js';
import type { ChainCache } from '../../src/authz/chain-cache.js';
import { type AuthzServer, startAuthzServer } from '../../src/authz/index.js';
import { loadConfig } from '../../src/config/index.js';
import { checkFromConfig } from '../../src/serve/check-from-config.js';
import { authzClient, callCheck } from '../support/authz-client.js';
import { checkRequest, deniedOf, toolsCall } from '../support/check-request.js';
import { agentId, testIdentity } from '../support/identity.js';
import { memorySink } from '../support/memory-sink.js';

const id = testIdentity();
let server: AuthzServer;
let client: Client;
let chains: ChainCache;

beforeAll(async () => {
  const config = loadConfig({ env: {}, overrides: { agent: { spiffe_id: agentId('local') } } });
  const built = checkFromConfig(config, { trust: id.trust, ledger: memorySink(), cacheEntries: 500 });
  chains = built.chains;
  server = await startAuthzServer({
    listen: '127.0.0.1:0',
    check: built.check,
    maxMessageBytes: 8 * 1024 * 1024,
  });
  client = authzClient(server.address);
});
afterAll(async () => {
  client?.close();
  await server?.close();
});

const check = (req: CheckRequest) => callCheck(client, req);

describe('authz under hostile load', () => {
  it('answers 3000 concurrent hostile Checks with denies and keeps serving valid ones', async () => {
    const { token } = id.mint({ scope: ['fs.read'] });
    const big = JSON.stringify({ ...toolsCall('fs.read'), pad: 'x'.repeat(1024 * 1024) });
    const flood: Promise<CheckResponse>[] = [];
    for (let i = 0; i < 3000; i++) {
      const kind = i % 3;
      const req =
        kind === 0
          ? checkRequest({
              headers: {
                'x-sigil-tool': 'fs.read',
                authorization: `Bearer ${'A'.repeat(200 + (i % 50))}.${i}.x`,
              },
            })
          : kind === 1
            ? checkRequest({ body: big, headers: { 'content-type': 'application/json' } }, token)
            : checkRequest(
                { headers: Object.fromEntries(Array.from({ length: 1500 }, (_, j) => [`x-${j}`, 'v'])) },
                token,
              );
      flood.push(check(req));
      if (i % 500 === 0) {
        const ok = await check(checkRequest({ headers: { 'x-sigil-tool': 'fs.read' } }, token));
        expect(ok.status!.code).toBe(0);
      }
    }
    const answers = await Promise.all(flood);
    const codes = new Set(answers.map((a) => (JSON.parse(deniedOf(a)!.body) as { code: string }).code));
    expect(answers.every((a) => a.status!.code !== 0)).toBe(true);
    expect([...codes].sort()).toEqual(
      ['AUTHZ_BODY_TOO_LARGE', 'AUTHZ_HEADERS_TOO_LARGE', 'TBIT_MALFORMED'].sort(),
    );
  });

  it('5000 distinct valid tokens never grow the cache past its bound', async () => {
    for (let i = 0; i < 5000; i++) {
      const { token } = id.mint({ scope: ['fs.read'], task: `t${i}` });
      const r = await check(checkRequest({ headers: { 'x-sigil-tool': 'fs.read' } }, token));
      expect(r.status!.code).toBe(0);
    }
    expect(chains.size).toBe(500);
  });
});
