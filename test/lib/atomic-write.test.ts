import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/lib/atomic-write.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sigil-atomic-'));
  dirs.push(d);
  return d;
}

describe('writeFileAtomic', () => {
  it('replaces the file with the given mode and leaves no temp file', () => {
    const d = dir();
    const p = join(d, 'f.json');
    expect(writeFileAtomic(p, 'one')).toBe(true);
    expect(writeFileAtomic(p, 'two', 0o644)).toBe(true);
    expect(readFileSync(p, 'utf8')).toBe('two');
    expect(statSync(p).mode & 0o777).toBe(0o644);
    expect(readdirSync(d)).toEqual(['f.json']);
  });

  it('exclusive: creates once and never replaces an existing file', () => {
    const d = dir();
    const p = join(d, 'k.json');
    expect(writeFileAtomic(p, 'first', 0o600, true)).toBe(true);
    expect(writeFileAtomic(p, 'second', 0o600, true)).toBe(false);
    expect(readFileSync(p, 'utf8')).toBe('first');
    expect(statSync(p).mode & 0o777).toBe(0o600);
    expect(readdirSync(d)).toEqual(['k.json']);
  });
});
