/** `listen_http` / `listen_grpc` accept `unix:/path` (config hostPort): both transports work over Unix sockets. */
import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startIssuer } from '../../src/issuer/start.js';
import { issuerCall, issuerClient } from '../support/issuer-grpc.js';
import { AGENT, cleanupDirs, tempDir, testOptions } from './helpers.js';

afterEach(cleanupDirs);

describe('issuer endpoint on Unix sockets', () => {
  it('serves identity over HTTP and gRPC', async () => {
    const dir = tempDir();
    const httpSock = join(dir, 'issuer-http.sock');
    const grpcSock = join(dir, 'issuer-grpc.sock');
    const issuer = await startIssuer(
      testOptions(dir, { issuer: { listen_http: `unix:${httpSock}`, listen_grpc: `unix:${grpcSock}` } }),
    );
    try {
      const body = await new Promise<string>((resolve, reject) => {
        request({ socketPath: httpSock, path: '/v1/identity' }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks).toString()));
        })
          .on('error', reject)
          .end();
      });
      expect(JSON.parse(body).spiffe_id).toBe(AGENT);
      const client = issuerClient(`unix:${grpcSock}`);
      const id = await issuerCall(client, 'GetIdentity', {});
      client.close();
      expect(id.spiffe_id).toBe(AGENT);
    } finally {
      await issuer.close();
    }
  });
});
