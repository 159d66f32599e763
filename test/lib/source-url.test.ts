/** Which source locations SIGIL reads trust and policy from (src/lib/source-url.ts). */
import { describe, expect, it } from 'vitest';
import { isLoopbackHost, sourceKind, sourceProblem } from '../../src/lib/source-url.js';

const hostOf = (url: string) => new URL(url).hostname;

describe('isLoopbackHost', () => {
  it.each([
    'http://127.0.0.1/',
    'http://127.255.255.254/',
    'http://127.1/', // WHATWG URL normalises to 127.0.0.1
    'http://0x7f000001/',
    'http://[::1]/',
    'http://[0:0:0:0:0:0:0:1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://localhost/',
    'http://LOCALHOST:8080/',
  ])('%s is loopback', (url) => {
    expect(isLoopbackHost(hostOf(url))).toBe(true);
  });
  it.each([
    'http://128.0.0.1/',
    'http://10.0.0.1/',
    'http://0.0.0.0/',
    'http://[::]/',
    'http://[::ffff:10.0.0.1]/',
    'http://localhost.evil.example/',
    'http://127.0.0.1.nip.io/',
    'http://evil-localhost/',
  ])('%s is not', (url) => {
    expect(isLoopbackHost(hostOf(url))).toBe(false);
  });
});

describe('sourceProblem', () => {
  it('accepts file paths and https URLs', () => {
    for (const loc of [
      '/etc/sigil/jwks.json',
      './jwks.json',
      'C:\\sigil\\jwks.json',
      'https://a.example/j',
    ]) {
      expect(sourceProblem(loc)).toBeUndefined();
    }
    expect(sourceKind('HTTPS://a.example/j')).toBe('https');
  });
  it('refuses http:// unless allowed AND loopback, and any other scheme', () => {
    expect(sourceProblem('http://127.0.0.1/j')).toContain('allow_loopback_http');
    expect(sourceProblem('http://127.0.0.1/j', { allowLoopbackHttp: true })).toBeUndefined();
    expect(sourceProblem('HTTP://10.1.2.3/j', { allowLoopbackHttp: true })).toContain('loopback');
    for (const loc of ['file:///etc/jwks.json', 'ftp://127.0.0.1/j', 'ws://127.0.0.1/j']) {
      expect(sourceProblem(loc, { allowLoopbackHttp: true })).toContain('only https://');
    }
  });
});
