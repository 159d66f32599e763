/**
 * `releaseClosedHttp2Streams` (docs/sizing.md §4): a closed HTTP/2 server stream keeps no listeners, so a
 * stream V8 keeps reachable past its end no longer reaches the call (and request) it served; streams still
 * serve normally before they close.
 */
import { once } from 'node:events';
import { connect, createServer, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { releaseClosedHttp2Streams } from '../../src/serve/index.js';

describe('releaseClosedHttp2Streams', () => {
  const streams: ServerHttp2Stream[] = [];
  const server = createServer();
  let url = '';

  beforeAll(async () => {
    releaseClosedHttp2Streams();
    releaseClosedHttp2Streams(); // idempotent: one subscription
    server.on('stream', (stream) => {
      streams.push(stream);
      // What a handler (grpc-js) attaches: these reach the call's state until the stream lets go of them.
      stream.on('data', () => {});
      stream.on('error', () => {});
      stream.on('end', () => {
        stream.respond({ ':status': 200 });
        stream.end('ok');
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  async function request(): Promise<string> {
    const client = connect(url);
    try {
      const req = client.request({ ':method': 'POST', ':path': '/' });
      req.end('hello');
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => {
        body += d;
      });
      await once(req, 'end');
      return body;
    } finally {
      client.close();
    }
  }

  it('answers as before, then drops every listener of the closed stream', async () => {
    expect(await request()).toBe('ok');
    expect(await request()).toBe('ok');
    expect(streams).toHaveLength(2);
    for (const s of streams) {
      if (!s.closed) await once(s, 'close');
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      expect(s.eventNames()).toEqual([]);
    }
  });

  it('leaves a stream that is still open alone', async () => {
    const client = connect(url);
    try {
      const req = client.request({ ':method': 'POST', ':path': '/' });
      req.write('part');
      for (let i = 0; i < 400 && streams.length < 3; i++) await new Promise((r) => setTimeout(r, 5));
      const open = streams[2] as ServerHttp2Stream;
      await new Promise((r) => setTimeout(r, 20));
      expect(open.closed).toBe(false);
      expect(open.listenerCount('data')).toBe(1);
      expect(open.listenerCount('end')).toBe(1);
      req.resume();
      req.end();
      await once(req, 'end');
    } finally {
      client.close();
    }
  });
});
