/**
 * The ledger relies on patches/lmdb+3.5.6.patch (see patches/README.md): an install that skipped the
 * postinstall step (patch-package, then scripts/build-lmdb.mjs), or a different lmdb-js version, must not
 * pass unnoticed.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const lmdbDir = dirname(fileURLToPath(import.meta.resolve('lmdb')));
/** One statement of each part of the patch: settled resolutions drop `meta`; links behind the walkers are cut. */
const PATCHED = ['uncommittedResolution.meta = null;', 't.next = null;'];

describe('lmdb-js patch', () => {
  it('is installed on the version it was made for', () => {
    const pkg = JSON.parse(readFileSync(join(lmdbDir, 'package.json'), 'utf8')) as { version: string };
    expect(pkg.version).toBe('3.5.6');
  });

  it('is applied to both the ESM and the CommonJS build, each part once', () => {
    for (const file of ['write.js', join('dist', 'index.cjs')]) {
      const src = readFileSync(join(lmdbDir, file), 'utf8');
      for (const statement of PATCHED)
        expect(src.split(statement).length - 1, `${file}: ${statement}`).toBe(1);
    }
  });

  it('runs the addon compiled from the patched liblmdb, not a prebuilt one', async () => {
    const mdb = readFileSync(join(lmdbDir, 'dependencies', 'lmdb', 'libraries', 'liblmdb', 'mdb.c'), 'utf8');
    expect(mdb).toContain('sigil patch: do not publish');
    expect(mdb).not.toContain('env->me_txns->mti_txnid = meta.mm_txnid;');
    await import('lmdb');
    // The shared objects this process has mapped (Linux): lmdb-js picks build/Release over its prebuilds.
    const maps = readFileSync('/proc/self/maps', 'utf8');
    expect(maps).toContain(join(lmdbDir, 'build', 'Release', 'lmdb.node'));
    expect(maps).not.toMatch(/@lmdb\/lmdb-linux[^/]*\/[^\n]*\.node/);
  });
});
