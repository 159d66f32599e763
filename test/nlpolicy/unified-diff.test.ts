/** unifiedDiff against GNU diff -u on the same texts (hunks and line numbers, headers aside). */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unifiedDiff } from '../../src/nlpolicy/lib/unified-diff.js';

function gnu(a: string, b: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-diff-'));
  try {
    writeFileSync(join(dir, 'a'), a);
    writeFileSync(join(dir, 'b'), b);
    try {
      execFileSync('diff', ['-u', 'a', 'b'], { cwd: dir, encoding: 'utf8' });
      return '';
    } catch (e) {
      return (e as { stdout: string }).stdout.split('\n').slice(2).join('\n');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const L = (n: number, f: (i: number) => string) =>
  `${Array.from({ length: n }, (_, i) => f(i)).join('\n')}\n`;

describe('unifiedDiff', () => {
  const pairs: [string, string, string][] = [
    ['one change, one append', L(11, (i) => `l${i}`), `${L(11, (i) => (i === 1 ? 'X' : `l${i}`))}l11\n`],
    ['from nothing', '', 'a\nb\n'],
    ['to nothing', 'a\nb\n', ''],
    [
      'changes close together share a hunk',
      L(20, (i) => `l${i}`),
      L(20, (i) => (i === 3 || i === 8 ? `m${i}` : `l${i}`)),
    ],
    ['far apart: two hunks', L(30, (i) => `l${i}`), L(30, (i) => (i === 2 || i === 25 ? `m${i}` : `l${i}`))],
    ['equal', 'a\n', 'a\n'],
  ];
  it.each(pairs)('matches diff -u: %s', (_n, a, b) => {
    const ours = unifiedDiff(a, b, 'a', 'b');
    expect(ours.split('\n').slice(2).join('\n')).toBe(gnu(a, b));
    if (ours) expect(ours.startsWith('--- a\n+++ b\n@@ ')).toBe(true);
  });
});
