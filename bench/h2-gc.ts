/**
 * `npm run bench:h2gc`: what a full collection of a bare node:http2 server pays for the requests it received
 * (bench/NOTES.md, "2026-12-05, session 33"). node:http2 turns every received header value outside HPACK's static
 * table into an external string, V8 allocates those in the old generation, and only a full collection finalizes
 * them. No SIGIL code is involved: the server answers every stream with an empty 200.
 *
 * For each header set the script starts the server (`--single-threaded-gc --trace-gc-nvp`, a growing factor high
 * enough that no full collection runs during the load), sends N requests over one connection, 16 in flight, then
 * has the server run one full collection and prints its atomic pause and the two clearing phases that grow with
 * the external strings.
 *
 * Flags: --requests N (default 100000).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import http2 from 'node:http2';

const args = process.argv.slice(2);
const REQUESTS = Number(args[args.indexOf('--requests') + 1] || 100_000) || 100_000;

const SERVER = `
const http2 = require('node:http2');
const server = http2.createServer();
server.on('stream', (stream) => { stream.respond({ ':status': 200 }); stream.end(); });
server.listen(0, '127.0.0.1', () => console.log('PORT ' + server.address().port));
process.on('SIGUSR2', () => { globalThis.gc(); console.log('COLLECTED'); });
`;

/** Header sets: what Envoy's ext_authz gRPC call carries, and the least a request can carry. */
const SETS: Array<{ name: string; headers: http2.OutgoingHttpHeaders; external: number }> = [
  {
    name: 'gRPC Check headers (:path, :authority, content-type, te, grpc-timeout)',
    headers: {
      ':method': 'POST',
      ':path': '/envoy.service.auth.v3.Authorization/Check',
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-timeout': '200m',
    },
    external: 5,
  },
  { name: 'only :authority non-static (POST /)', headers: { ':method': 'POST', ':path': '/' }, external: 1 },
];

const field = (line: string, key: string): number =>
  Number(new RegExp(`\\b${key}=([0-9.]+)`).exec(line)?.[1]);

async function waitFor(p: ChildProcess, pattern: RegExp, out: { text: string }): Promise<RegExpExecArray> {
  for (;;) {
    const m = pattern.exec(out.text);
    if (m) return m;
    if (p.exitCode !== null) throw new Error(`server exited ${p.exitCode}: ${out.text.slice(-500)}`);
    await once(p.stdout!, 'data');
  }
}

async function measure(set: (typeof SETS)[number]) {
  const server = spawn(
    process.execPath,
    ['--expose-gc', '--trace-gc-nvp', '--single-threaded-gc', '--heap-growing-percent=1000', '-e', SERVER],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const out = { text: '' };
  server.stdout!.on('data', (d: Buffer) => {
    out.text += d.toString();
  });
  try {
    const port = Number((await waitFor(server, /PORT (\d+)/, out))[1]);
    const client = http2.connect(`http://127.0.0.1:${port}`);
    let sent = 0;
    let done = 0;
    await new Promise<void>((resolve, reject) => {
      const one = () => {
        if (sent >= REQUESTS) return;
        sent++;
        const r = client.request(set.headers);
        r.on('error', reject);
        r.resume();
        r.on('end', () => {
          if (++done === REQUESTS) resolve();
          else one();
        });
        r.end();
      };
      for (let i = 0; i < 16; i++) one();
    });
    client.close();
    const before = out.text.length;
    server.kill('SIGUSR2');
    await waitFor(server, /COLLECTED/, out);
    const lines = out.text.slice(0, out.text.indexOf('COLLECTED', before)).split('\n');
    const mc = lines.filter((l) => l.includes('gc=mc')).at(-1) ?? '';
    return {
      pause: field(mc, 'pause'),
      ext: field(mc, 'clear.external_string_table'),
      filter: field(mc, 'clear.weak_references_filter_non_trivial'),
    };
  } finally {
    server.kill('SIGKILL');
  }
}

console.log(`node ${process.version}; ${REQUESTS} requests per header set, then one full collection (ms):\n`);
console.log(
  '| header set | external strings per request | pause | external string table | non-trivial weak-reference filter | both, µs per request |',
);
console.log('|---|---:|---:|---:|---:|---:|');
for (const set of SETS) {
  const m = await measure(set);
  const perRequest = ((m.ext + m.filter) * 1000) / REQUESTS;
  console.log(
    `| ${set.name} | ${set.external} | ${m.pause} | ${m.ext} | ${m.filter} | ${perRequest.toFixed(2)} |`,
  );
}
