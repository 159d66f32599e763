/** Slow / DoS checks of the issuer HTTP endpoint (`npm run test:slow`). Real sockets, in-process server. */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningIssuer, startIssuer } from '../../src/issuer/start.js';
import { cleanupDirs, OPERATOR, tempDir, testOptions, WORKER } from '../issuer/helpers.js';

let issuer: RunningIssuer;
let port = 0;
beforeAll(async () => {
  issuer = await startIssuer(testOptions(tempDir(), { issuer: { operator_token: OPERATOR } }), {
    grpc: false,
  });
  port = issuer.http!.port;
});
afterAll(async () => {
  await issuer.close();
  cleanupDirs();
});

/** Streams `total` bytes as a chunked body; resolves with the status, or 'reset' when the server cut us off. */
function upload(total: number): Promise<number | 'reset'> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/v1/delegate',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve('reset'));
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

describe('issuer endpoint under abuse', () => {
  it('20 concurrent 50 MB uploads are refused (413 or cut) without buffering them', async () => {
    const before = process.memoryUsage().rss;
    const results = await Promise.all(Array.from({ length: 20 }, () => upload(50 * 1024 * 1024)));
    for (const r of results) expect([413, 'reset']).toContain(r);
    expect(results.filter((r) => r === 413).length + results.filter((r) => r === 'reset').length).toBe(20);
    // 1 GB was offered in total; far less may stay resident.
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
    const ok = await fetch(`http://127.0.0.1:${port}/v1/identity`);
    expect(ok.status).toBe(200);
  });

  it('2000 tokens with made-up kids: all 401 TBIT_UNKNOWN_KEY, server still answers', async () => {
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: 'spiffe://sigil.mesh/sigil/issuer',
      sub: WORKER,
      aud: 'spiffe://sigil.mesh',
      iat: now,
      nbf: now,
      exp: now + 60,
      jti: 'j',
      task_id: 't',
      tool_scope: ['a'],
      dep: 1,
      dmax: 10,
    };
    const codes = new Map<string, number>();
    for (let batch = 0; batch < 40; batch++) {
      const replies = await Promise.all(
        Array.from({ length: 50 }, async () => {
          const token = `${b64({ alg: 'EdDSA', typ: 'tbit+jwt', kid: randomBytes(16).toString('base64url') })}.${b64(claims)}.${randomBytes(64).toString('base64url')}`;
          const r = await fetch(`http://127.0.0.1:${port}/v1/delegate`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ token, to: WORKER, tool_scope: ['a'] }),
          });
          return [r.status, ((await r.json()) as { code: string }).code] as const;
        }),
      );
      for (const [status, code] of replies)
        codes.set(`${status} ${code}`, (codes.get(`${status} ${code}`) ?? 0) + 1);
    }
    expect(Object.fromEntries(codes)).toEqual({ '401 TBIT_UNKNOWN_KEY': 2000 });
  });

  it('a client that never finishes its headers is disconnected (headersTimeout)', async () => {
    const closed = await new Promise<number>((resolve) => {
      const t0 = Date.now();
      const s = connect(port, '127.0.0.1', () => s.write('POST /v1/mint HTTP/1.1\r\nHost: x\r\n'));
      s.on('data', () => {});
      s.on('close', () => resolve(Date.now() - t0));
      s.on('error', () => {});
    });
    // headersTimeout is 5 s; node checks it on a periodic sweep (connectionsCheckingInterval, 30 s by default).
    expect(closed).toBeLessThan(40_000);
  });
});
