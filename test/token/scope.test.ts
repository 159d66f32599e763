import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { scopeAllows, scopeCovers } from '../../src/token/index.js';
import { patternAllows, patternCovers } from '../../src/token/lib/scope.js';

describe('scopeAllows', () => {
  const table: [string[], string, boolean][] = [
    [['*'], 'anything.at.all', true],
    [['fs.read'], 'fs.read', true],
    [['fs.read'], 'fs.write', false],
    [['fs.read'], 'fs.read.x', false],
    [['fs.*'], 'fs.read', true],
    [['fs.*'], 'fs.read.deep', true],
    [['fs.*'], 'fs', false],
    [['fs.*'], 'fsx.read', false],
    [['fs.*'], 'xfs.read', false],
    [['a.b.*'], 'a.b.c', true],
    [['a.b.*'], 'a.c', false],
    [['mcp:github/issues.create'], 'mcp:github/issues.create', true],
    [['fs.read', 'web.*'], 'web.search', true],
    [[], 'fs.read', false],
    // invalid tool names never match, even under *
    [['*'], '', false],
    [['*'], 'fs..read', false],
    [['*'], 'fs.read.', false],
    [['*'], '.fs', false],
    [['*'], 'fs.*', false],
    [['*'], 'x'.repeat(129), false],
    [['*'], 'fs read', false],
    [['*'], 'fs.réad', false],
    // invalid patterns never match
    [['fs.*.read'], 'fs.x.read', false],
    [['*.read'], 'fs.read', false],
    [['fs*'], 'fsx', false],
    [['fs.**'], 'fs.x', false],
  ];
  for (const [scope, tool, want] of table) {
    it(`${JSON.stringify(scope)} ${want ? 'allows' : 'denies'} ${JSON.stringify(tool).slice(0, 40)}`, () => {
      expect(scopeAllows(scope, tool)).toBe(want);
    });
  }
});

describe('scopeCovers (child ⊆ parent)', () => {
  const table: [string[], string[], boolean][] = [
    [['*'], ['*'], true],
    [['*'], ['a', 'b.*'], true],
    [['a.*'], ['a.b'], true],
    [['a.*'], ['a.b.c'], true],
    [['a.*'], ['a.b.*'], true],
    [['a.*'], ['a.*'], true],
    [['a.*'], ['a'], false],
    [['a.*'], ['*'], false],
    [['a.b.*'], ['a.*'], false],
    [['a'], ['a.*'], false],
    [['a'], ['a'], true],
    [['a', 'b'], ['b'], true],
    [['a'], ['a', 'b'], false],
    [['a.*'], ['ab.c'], false],
    [['a.*'], [], false],
    [['a.*'], ['a.b.*.c'], false],
  ];
  for (const [p, c, want] of table) {
    it(`${JSON.stringify(p)} ${want ? 'covers' : 'does not cover'} ${JSON.stringify(c)}`, () => {
      expect(scopeCovers(p, c)).toBe(want);
    });
  }
});

describe('scope properties (fast-check)', () => {
  const seg = fc.constantFrom('a', 'b', 'c', 'fs', 'read');
  const name = fc.array(seg, { minLength: 1, maxLength: 4 }).map((s) => s.join('.'));
  const pattern = fc.oneof(
    name,
    name.map((n) => `${n}.*`),
    fc.constant('*'),
  );
  it('covers is sound: p covers c and c allows t ⇒ p allows t', () => {
    fc.assert(
      fc.property(pattern, pattern, name, (p, c, t) => {
        if (patternCovers(p, c) && patternAllows(c, t)) expect(patternAllows(p, t)).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });
  it('covers is not vacuous: when p does not cover c, some tool c allows is denied by p', () => {
    fc.assert(
      fc.property(pattern, pattern, (p, c) => {
        if (patternCovers(p, c)) return;
        // witness: c itself as a tool, or c's prefix plus a segment p cannot know about
        const witness = c === '*' ? 'zz.unlisted' : c.endsWith('.*') ? `${c.slice(0, -2)}.zz` : c;
        expect(patternAllows(c, witness)).toBe(true);
        expect(patternAllows(p, witness)).toBe(false);
      }),
      { numRuns: 5000 },
    );
  });
  it('covers is reflexive and transitive', () => {
    fc.assert(
      fc.property(pattern, pattern, pattern, (a, b, c) => {
        expect(patternCovers(a, a)).toBe(true);
        if (patternCovers(a, b) && patternCovers(b, c)) expect(patternCovers(a, c)).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });
});
