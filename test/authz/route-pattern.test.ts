/** Route patterns of authz.routes / public_routes (docs/authz.md §10). */
import { describe, expect, it } from 'vitest';
import { checkFromConfig } from '../../src/authz/create-check.js';
import { compileRoute, fillTemplate } from '../../src/authz/lib/route-pattern.js';
import { toolResolver } from '../../src/authz/resolve-tool.js';
import { loadConfig } from '../../src/config/index.js';
import { testIdentity } from '../support/identity.js';
import { memorySink } from '../support/memory-sink.js';

describe('route patterns', () => {
  it('matches literal, * (one non-empty segment), trailing ** (any rest) and {name} captures', () => {
    const lit = compileRoute('GET', '/a/b');
    expect(lit.match('GET', '/a/b')).toEqual({});
    expect(lit.match('GET', '/a/b/c')).toBeUndefined();
    expect(lit.match('POST', '/a/b')).toBeUndefined();
    const star = compileRoute('*', '/a/*/c');
    expect(star.match('DELETE', '/a/x/c')).toEqual({});
    expect(star.match('GET', '/a//c')).toBeUndefined();
    const rest = compileRoute('get', '/files/**');
    expect(rest.match('GET', '/files')).toEqual({});
    expect(rest.match('GET', '/files/a/b/c')).toEqual({});
    expect(rest.match('GET', '/filesx')).toBeUndefined();
    const cap = compileRoute('POST', '/tools/{name}');
    expect(cap.match('POST', '/tools/fs.read')).toEqual({ name: 'fs.read' });
    expect(cap.match('POST', '/tools/fs%2Eread')).toEqual({ name: 'fs.read' });
    expect(cap.match('POST', '/tools/')).toBeUndefined();
    expect(cap.match('POST', '/tools/%E0%A4%A')).toEqual({ name: '\uFFFD' });
    expect(fillTemplate('mcp.{name}', { name: 'x' })).toBe('mcp.x');
    expect(fillTemplate('{missing}', {})).toBe('\uFFFD');
  });

  it.each([['no-slash'], ['/a/**/b'], ['/a b'], ['/a/{1x}'], ['/a/{x']])(
    'refuses the bad pattern %s at start-up',
    (p) => {
      expect(() => compileRoute('GET', p)).toThrow();
      expect(() =>
        toolResolver({
          toolHeader: 'x-sigil-tool',
          routes: [{ method: 'GET', path: p, tool: 't' }],
          publicRoutes: [],
        }),
      ).toThrow();
      const config = loadConfig({
        env: {},
        overrides: { authz: { routes: [{ method: 'GET', path: p, tool: 't' }] } },
      });
      expect(() => checkFromConfig(config, { trust: testIdentity().trust, ledger: memorySink() })).toThrow(
        expect.objectContaining({ code: 'CONFIG_INVALID' }),
      );
    },
  );
});
