/**
 * gen/ is generated from proto/ (`npm run generate`, buf.gen.yaml) and committed: regenerating into a temporary
 * directory must give exactly the committed files, so a proto change without a regeneration fails here.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const out = mkdtempSync(join(tmpdir(), 'sigil-gen-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** Relative path → content of every file under `dir`. */
function tree(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    files.set(relative(dir, path), readFileSync(path, 'utf8'));
  }
  return files;
}

describe('gen/', () => {
  it('is what buf generate makes from proto/ today', () => {
    execFileSync(join(ROOT, 'node_modules', '.bin', 'buf'), ['generate', '--output', out], {
      cwd: ROOT,
      stdio: 'pipe',
    });
    const fresh = tree(join(out, 'gen'));
    const committed = tree(join(ROOT, 'gen'));
    expect(fresh.size).toBeGreaterThan(0);
    expect([...committed.keys()].sort()).toEqual([...fresh.keys()].sort());
    for (const [path, text] of fresh)
      expect(committed.get(path), `gen/${path} is stale: npm run generate`).toBe(text);
  });
});
