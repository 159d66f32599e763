/**
 * Child process of `npm run bench:witness`: starts N tlog-witness endpoints (WitnessService over HTTP on
 * loopback) that accept the logs given as `origin=vkey` arguments, prints one JSON line
 * `[{url, vkey}, ...]`, and runs until killed. Separate process: the witnesses do not share the bench's
 * event loop, as in a mesh.
 */
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listenHttp } from '../../src/lib/listen.js';
import { loadOrCreateCosigner, WitnessService, witnessHandler } from '../../src/witness/index.js';

const n = Number(process.argv[2] ?? 3);
const logs = process.argv.slice(3).map((a) => {
  const i = a.indexOf('=');
  return { origin: a.slice(0, i), keys: [a.slice(i + 1)] };
});
const dir = mkdtempSync(join(tmpdir(), 'sigil-bench-witness-'));
const out: Array<{ name: string; url: string; vkey: string }> = [];
for (let i = 0; i < n; i++) {
  const cosigner = loadOrCreateCosigner(join(dir, `w${i}`, 'key.jwk'), `bench.mesh/w${i}`);
  const handler = witnessHandler(
    new WitnessService({ cosigner, logs, stateFile: join(dir, `w${i}`, 'state.json') }),
  );
  const server = createServer((req, res) => {
    if (!handler(req, res)) res.writeHead(404).end();
  });
  server.keepAliveTimeout = 60_000;
  const { url } = await listenHttp(server, '127.0.0.1:0');
  out.push({ name: cosigner.name, url: `${url}/witness`, vkey: cosigner.vkey });
}
process.stdout.write(`${JSON.stringify(out)}\n`);
