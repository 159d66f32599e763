import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { agentSpiffeId, isSpiffeId, parseSpiffeId } from '../../src/token/index.js';
import { codeOf } from './helpers.js';

describe('parseSpiffeId (SPIFFE-ID.md §2)', () => {
  it('parses the agent form and a trust-domain ID', () => {
    expect(parseSpiffeId('spiffe://sigil.mesh/agent/coder/i-7')).toEqual({
      id: 'spiffe://sigil.mesh/agent/coder/i-7',
      trustDomain: 'sigil.mesh',
      path: '/agent/coder/i-7',
      segments: ['agent', 'coder', 'i-7'],
    });
    expect(parseSpiffeId('spiffe://sigil.mesh')).toMatchObject({
      trustDomain: 'sigil.mesh',
      path: '',
      segments: [],
    });
  });
  it('accepts every allowed character', () => {
    expect(isSpiffeId('spiffe://a-b_c.0-9/AZaz09.-_/x')).toBe(true);
    expect(isSpiffeId('spiffe://td/..a/a..')).toBe(true); // dots are fine inside a segment
  });
  it('accepts exactly 2048 bytes and rejects 2049', () => {
    const pre = 'spiffe://td/';
    expect(isSpiffeId(pre + 'a'.repeat(2048 - pre.length))).toBe(true);
    expect(codeOf(() => parseSpiffeId(pre + 'a'.repeat(2049 - pre.length)))).toBe('TBIT_INVALID_SPIFFE_ID');
  });
  const bad: [string, unknown][] = [
    ['empty', ''],
    ['not a string', 42],
    ['no scheme', 'sigil.mesh/agent/x'],
    ['other scheme', 'https://sigil.mesh/agent/x'],
    ['upper-case scheme', 'SPIFFE://sigil.mesh/agent/x'],
    ['scheme without //', 'spiffe:sigil.mesh/agent'],
    ['empty trust domain', 'spiffe:///agent/x'],
    ['upper-case trust domain', 'spiffe://Sigil.mesh/agent/x'],
    ['port', 'spiffe://sigil.mesh:8443/agent/x'],
    ['userinfo', 'spiffe://user@sigil.mesh/agent/x'],
    ['percent-encoding in td', 'spiffe://sigil%2emesh/x'],
    ['percent-encoding in path', 'spiffe://sigil.mesh/a%2Fb'],
    ['query', 'spiffe://sigil.mesh/agent/x?y=1'],
    ['fragment', 'spiffe://sigil.mesh/agent/x#y'],
    ['trailing slash', 'spiffe://sigil.mesh/agent/x/'],
    ['trust domain with trailing slash only', 'spiffe://sigil.mesh/'],
    ['empty segment', 'spiffe://sigil.mesh/agent//x'],
    ['dot segment', 'spiffe://sigil.mesh/agent/./x'],
    ['dot-dot segment', 'spiffe://sigil.mesh/agent/../x'],
    ['final dot-dot', 'spiffe://sigil.mesh/agent/..'],
    ['space', 'spiffe://sigil.mesh/agent/x y'],
    ['unicode', 'spiffe://sigil.mesh/agent/é'],
    ['unicode td', 'spiffe://sïgil.mesh/agent/x'],
    ['td too long', `spiffe://${'a'.repeat(256)}/x`],
    ['backslash', 'spiffe://sigil.mesh/agent\\x'],
    ['NUL', 'spiffe://sigil.mesh/agent/x\u0000'],
  ];
  for (const [name, s] of bad) {
    it(`rejects ${name}`, () => {
      expect(codeOf(() => parseSpiffeId(s))).toBe('TBIT_INVALID_SPIFFE_ID');
      expect(isSpiffeId(s)).toBe(false);
    });
  }
});

describe('agentSpiffeId', () => {
  it('builds spiffe://<td>/agent/<type>/<instance>', () => {
    expect(agentSpiffeId('sigil.mesh', 'coder', 'i-1').id).toBe('spiffe://sigil.mesh/agent/coder/i-1');
  });
  it('refuses a type or instance that is not one segment', () => {
    expect(codeOf(() => agentSpiffeId('sigil.mesh', 'a/b', 'i'))).toBe('TBIT_INVALID_SPIFFE_ID');
    expect(codeOf(() => agentSpiffeId('sigil.mesh', 'a', ''))).toBe('TBIT_INVALID_SPIFFE_ID');
    expect(codeOf(() => agentSpiffeId('sigil.mesh/x', 'a', 'b'))).toBe('TBIT_INVALID_SPIFFE_ID');
    expect(codeOf(() => agentSpiffeId('Sigil', 'a', 'b'))).toBe('TBIT_INVALID_SPIFFE_ID');
  });
});

describe('parseSpiffeId agrees with a one-regex reference of SPIFFE-ID.md §2 (fast-check)', () => {
  // Written independently of the parser: scheme, 1..255 lowercase td chars, then segments that are not "." or "..".
  const REF = /^spiffe:\/\/[a-z0-9._-]{1,255}(?:\/(?!\.{1,2}(?:\/|$))[A-Za-z0-9._-]+)*$/;
  const ref = (s: string) => s.length <= 2048 && REF.test(s);
  const piece = fc.constantFrom(
    'a',
    'Z',
    '0',
    '.',
    '..',
    '-',
    '_',
    '/',
    '//',
    ':',
    '@',
    '%2e',
    '?',
    '#',
    ' ',
    'é',
    'spiffe',
    '.a',
  );
  const candidate = fc.oneof(
    fc.array(piece, { maxLength: 12 }).map((p) => `spiffe://${p.join('')}`),
    fc.array(piece, { maxLength: 12 }).map((p) => `spiffe://td/${p.join('')}`),
    fc.array(piece, { maxLength: 8 }).map((p) => p.join('')),
  );
  it('accepts exactly what the reference accepts', () => {
    fc.assert(
      fc.property(candidate, (s) => {
        expect(isSpiffeId(s), s).toBe(ref(s));
      }),
      { numRuns: 20000 },
    );
  });
});
