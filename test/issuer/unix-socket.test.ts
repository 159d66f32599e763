/** `listen_http` / `listen_grpc` accept `unix:/path` (config hostPort): both transports work over Unix sockets. */
import { request } from 'node:http';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { loadIssuerProto } from '../../src/issuer/grpc.js';
import { startIssuer } from '../../src/issuer/start.js';
import { AGENT, cleanupDirs, tempDir, testConfig } from './helpers.js';

afterEach(cleanupDirs);

describe('issuer endpoint on Unix sockets', () => {
  it('serves identity over HTTP and gRPC', async () => {
    const dir = tempDir();
    const httpSock = join(dir, 'issuer-http.sock');
    const grpcSock = join(dir, 'issuer-grpc.sock');
    const issuer = await startIssuer(
      testConfig(dir, { issuer: { listen_http: `unix:${httpSock}`, listen_grpc: `unix:${grpcSock}` } }),
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
      const { Client } = loadIssuerProto();
      const client = new Client(`unix:${grpcSock}`, grpc.credentials.createInsecure());
      const id = await new Promise<Record<string, unknown>>((resolve, reject) =>
        (
          client as unknown as Record<
            string,
            (r: object, cb: (e: Error | null, v: Record<string, unknown>) => void) => void
          >
        ).GetIdentity!.call(client, {}, (e, v) => (e ? reject(e) : resolve(v))),
      );
      client.close();
      expect(id.spiffe_id).toBe(AGENT);
    } finally {
      await issuer.close();
    }
  });
});
