#!/usr/bin/env node
// Compiles lmdb-js's native addon from its (patched) C sources: the postinstall step, after patch-package.
// The prebuilt binary lmdb-js ships would not contain patches/lmdb+3.5.6.patch's fix to liblmdb (mdb.c);
// lmdb-js loads build/Release/lmdb.node in preference to its prebuilds. N-API: one build serves every Node
// major. Needs a C/C++ toolchain (gcc, g++, make, python3) and Node's headers, which Node's own install
// carries (<prefix>/include/node), so nothing is downloaded. patches/README.md says why.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// lmdb's exports map hides package.json; it is a direct dependency, so it sits at the top of node_modules.
const lmdbDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', 'lmdb');
if (!existsSync(join(lmdbDir, 'binding.gyp'))) {
  console.error(`[build-lmdb] lmdb-js not found at ${lmdbDir}`);
  process.exit(1);
}
const fail = (msg) => {
  console.error(`[build-lmdb] ${msg}`);
  process.exit(1);
};
// npm runs lifecycle scripts with its bundled node-gyp's path in npm_config_node_gyp; outside npm, find
// the copy next to npm itself.
const npmCli = process.env.npm_execpath;
const gyp = [
  process.env.npm_config_node_gyp,
  npmCli && join(dirname(npmCli), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  join(
    dirname(process.execPath),
    '..',
    'lib',
    'node_modules',
    'npm',
    'node_modules',
    'node-gyp',
    'bin',
    'node-gyp.js',
  ),
].find((p) => p && existsSync(p));
if (!gyp) fail('node-gyp not found (it comes with npm); run this through `npm ci`');
const nodedir = resolve(dirname(process.execPath), '..');
if (!existsSync(join(nodedir, 'include', 'node', 'node_api.h')))
  fail(`Node's headers are not at ${nodedir}/include/node; install Node with its headers`);
console.error('[build-lmdb] compiling lmdb-js from the patched sources (about a minute)');
// The compiler's warnings about lmdb-js's own sources are noise here: its output is shown only on failure.
// npm passes its own `nodedir` setting (e.g. `nodedir=/usr` in an .npmrc, the system Node's headers) to
// node-gyp as npm_config_nodedir, which wins over --nodedir: override it with the running Node's.
const r = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`, '-j', 'max'], {
  cwd: lmdbDir,
  env: { ...process.env, npm_config_nodedir: nodedir },
  stdio: ['ignore', 'pipe', 'pipe'],
  maxBuffer: 64 * 1024 * 1024,
});
if (r.status !== 0) {
  process.stderr.write(r.stdout ?? '');
  process.stderr.write(r.stderr ?? '');
  fail('node-gyp rebuild failed: a C/C++ toolchain (gcc, g++, make, python3) is required');
}
if (!existsSync(join(lmdbDir, 'build', 'Release', 'lmdb.node')))
  fail('no build/Release/lmdb.node after the build');
