/** Route patterns of authz.routes / public_routes (docs/authz.md §10). */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileRoute, compileTemplate } from '../../src/authz/lib/route-pattern.js';
import { toolResolver } from '../../src/authz/resolve-tool.js';
import { loadConfig } from '../../src/config/index.js';
import { checkFromConfig } from '../../src/serve/check-from-config.js';
import { testIdentity } from '../support/identity.js';
import { memorySink } from '../support/memory-sink.js';

/** The straightforward template filler the compiled one must agree with. */
function fillTemplate(tool: string, captures: Record<string, string>): string {
  return tool.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, k: string) => captures[k] ?? '\uFFFD');
}

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
    expect(compileTemplate('mcp.{name}')({ name: 'x' })).toBe('mcp.x');
    expect(compileTemplate('{missing}')({})).toBe('\uFFFD');
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

describe('route pattern matching agrees with the split-based definition', () => {
  /** The definition (docs/authz.md §Routes) written the obvious way: walk path.split('/').slice(1). */
  function reference(pattern: string, path: string): Record<string, string> | undefined {
    const segs = pattern.split('/').slice(1);
    const parts = path.split('/').slice(1);
    const caps: Record<string, string> = Object.create(null);
    for (let i = 0; i < segs.length; i++) {
      const s = segs[i]!;
      if (s === '**') return caps;
      const p = parts[i];
      if (p === undefined) return undefined;
      if (s === '*') {
        if (p === '') return undefined;
      } else if (s.startsWith('{')) {
        if (p === '') return undefined;
        try {
          caps[s.slice(1, -1)] = decodeURIComponent(p);
        } catch {
          caps[s.slice(1, -1)] = '\uFFFD';
        }
      } else if (s !== p) return undefined;
    }
    return parts.length === segs.length ? caps : undefined;
  }
  const seg = fc.constantFrom('a', 'b', '', 'x.y', '%41', '%E0');
  const patSeg = fc.constantFrom('a', 'b', '*', '{n}', '{m}', '');
  it('on random patterns and paths', () => {
    fc.assert(
      fc.property(
        fc.array(patSeg, { maxLength: 4 }),
        fc.boolean(),
        fc.array(seg, { maxLength: 6 }),
        fc.constantFrom('/', '', 'z/'),
        (ps, rest, parts, lead) => {
          const pattern = `/${[...ps, ...(rest ? ['**'] : [])].join('/')}`;
          const path = lead + parts.join('/');
          expect(compileRoute('GET', pattern).match('GET', path)).toEqual(reference(pattern, path));
        },
      ),
      { numRuns: 2000 },
    );
  });
  it('compiled tool templates fill like fillTemplate', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('mcp.', '{name}', '{x}', '{', '}', 'a', '{1}'), { maxLength: 5 }),
        fc.dictionary(fc.constantFrom('name', 'x'), fc.string({ maxLength: 4 })),
        (bits, caps) => {
          const tool = bits.join('');
          expect(compileTemplate(tool)(caps)).toBe(fillTemplate(tool, caps));
        },
      ),
    );
  });
});
