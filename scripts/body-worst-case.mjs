// Worst-case Check time for 1 MB adversarial bodies at the inspection limits (docs/authz.md §4): worst wall
// time of 10 runs, and the least CPU time of the 10 (the cost itself, without the box's other load).
// Run after `npx tsc -p tsconfig.build.json`. A public route, so no token or chain cost is included.
import { create } from '@bufbuild/protobuf';
import { CheckRequestSchema } from '../dist/gen/envoy/service/auth/v3/external_auth_pb.js';
import { loadConfig } from '../dist/src/config/index.js';
import { checkFromConfig } from '../dist/src/serve/check-from-config.js';

const MB = 1_000_000;
const config = loadConfig({
  env: {},
  overrides: {
    agent: { spiffe_id: 'spiffe://example.org/agent/local' },
    authz: { public_routes: [{ method: 'POST', path: '/mcp' }], max_body_bytes: 2 * MB },
  },
});
const ledger = { append: async () => ({}), appendMany: async (r) => r.map(() => ({})) };
const trust = { get: async () => undefined, version: () => 0 };
const { check } = checkFromConfig(config, { trust, ledger });

const req = (rawBody, headers) =>
  create(CheckRequestSchema, {
    attributes: {
      request: {
        http: { method: 'POST', path: '/mcp', host: 'a', headers: { ':path': '/mcp', ...headers }, rawBody },
      },
    },
  });
/** head + as many units as fit in 1 MB + tail. */
const fill = (head, unit, tail) =>
  head + unit.repeat(Math.floor((MB - head.length - tail.length) / unit.length)) + tail;
const rpc = (args) =>
  `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search","arguments":${args}}}`;
const arrays = (d) => `${'['.repeat(d)}${']'.repeat(d)},`;
const objects = (d) => `${'{"a":'.repeat(d)}1${'}'.repeat(d)},`;
const keys = Array.from({ length: 90_000 }, (_, i) => `"k${i}":1`).join(',');
const utf32le = (s) => {
  const out = Buffer.alloc(s.length * 4);
  for (let i = 0; i < s.length; i++) out.writeUInt32LE(s.charCodeAt(i), i * 4);
  return out;
};
const JSON_UTF16 = { 'content-type': 'application/json; charset=utf-16' };

const bodies = [
  ['arrays 64 deep, repeated', Buffer.from(fill('[', arrays(63), '[]]'))],
  ['objects 63 deep in a tools/call', Buffer.from(rpc(fill('[', objects(59), '1]')))],
  ['90k member names in a tools/call', Buffer.from(rpc(`{${keys}}`))],
  ['flat empty arrays', Buffer.from(fill('[', '[],', '[]]'))],
  ['flat empty arrays in a tools/call', Buffer.from(rpc(fill('[', '[],', '[]]')))],
  ['escaped strings', Buffer.from(rpc(fill('["', '\\u0041', '"]')))],
  ['500k nested arrays (refused)', Buffer.from(`${'['.repeat(500_000)}${']'.repeat(500_000)}`)],
  [
    'UTF-16 no BOM, charset=utf-16',
    Buffer.from(rpc(fill('[', arrays(59), '1]')).slice(0, MB / 2), 'utf16le'),
    JSON_UTF16,
  ],
  [
    'UTF-32LE with BOM',
    Buffer.concat([
      Buffer.from([0xff, 0xfe, 0, 0]),
      utf32le(rpc(fill('[', arrays(59), '1]')).slice(0, MB / 4)),
    ]),
  ],
  ['1 MB whitespace then a call', Buffer.from(' '.repeat(MB) + rpc('{}'))],
  ['batch of 11k tools/call', Buffer.from(fill('[', `${rpc('{}')},`, `${rpc('{}')}]`))],
  [
    'batch of 100 tools/call, 10 kB each',
    Buffer.from(
      `[${Array(100)
        .fill(rpc(`"${'x'.repeat(9900)}"`))
        .join(',')}]`,
    ),
  ],
  [
    'escaped member names',
    Buffer.from(rpc(`{${Array.from({ length: 70_000 }, (_, i) => `"\\u0061${i}":1`).join(',')}}`)),
  ],
  ['objects with one escaped name', Buffer.from(rpc(fill('[', '{"\\u0061":1},', '{}]')))],
  ['tiny escaped strings', Buffer.from(rpc(fill('[', '"\\n",', '""]')))],
  ['empty objects in a tools/call', Buffer.from(rpc(fill('[', '{},', '{}]')))],
  ['numbers in a tools/call', Buffer.from(rpc(fill('[', '1,', '1]')))],
  ['duplicate key after 90k names', Buffer.from(rpc(`{${keys},"k0":2}`))],
];
// At the node cap (LIMITS.maxJsonNodes: containers + members) rather than at 1 MB: the allowed worst cases.
const CAP = 100_000 - 16;
const upTo = (head, unit, unitNodes, tail) => head + unit.repeat(Math.floor(CAP / unitNodes)) + tail;
bodies.push(
  ['cap: arrays 64 deep, repeated', Buffer.from(upTo('[', arrays(63), 63, '[]]'))],
  ['cap: flat [] in a tools/call', Buffer.from(rpc(upTo('[', '[],', 1, '[]]')))],
  ['cap: {} in a tools/call', Buffer.from(rpc(upTo('[', '{},', 1, '{}]')))],
  ['cap: {"a":1} in a tools/call', Buffer.from(rpc(upTo('[', '{"a":1},', 2, '{}]')))],
  ['cap: {"\\u0061":1} in a tools/call', Buffer.from(rpc(upTo('[', '{"\\u0061":1},', 2, '{}]')))],
  [
    'cap: members, escaped names',
    Buffer.from(rpc(`{${Array.from({ length: CAP }, (_, i) => `"\\u0061${i}":1`).join(',')}}`)),
  ],
  [
    'cap: members, then a duplicate',
    Buffer.from(rpc(`{${Array.from({ length: CAP }, (_, i) => `"k${i}":1`).join(',')},"k0":1}`)),
  ],
  ['cap: batch of tools/call', Buffer.from(upTo('[', `${rpc('{}')},`, 9, `${rpc('{}')}]`))],
);
const manyHeaders = Object.fromEntries(Array.from({ length: 998 }, (_, i) => [`x-h${i}`, 'v'.repeat(200)]));
bodies.push(['998 headers of 200 bytes, tiny body', Buffer.from(rpc('{}')), manyHeaders]);
for (const [name, body, headers = {}] of bodies) {
  for (let i = 0; i < 3; i++) await check(req(body, headers));
  let worst = 0;
  let cpu = Infinity;
  let code = '';
  for (let i = 0; i < 10; i++) {
    const t = performance.now();
    const c = process.cpuUsage();
    const r = await check(req(body, headers));
    const used = process.cpuUsage(c);
    worst = Math.max(worst, performance.now() - t);
    // CPU time of this process: on a shared box wall time also counts time spent descheduled.
    cpu = Math.min(cpu, (used.user + used.system) / 1000);
    code = r.httpResponse.case === 'okResponse' ? 'allow' : JSON.parse(r.httpResponse.value.body).code;
  }
  console.log(
    `${name.padEnd(36)} ${(body.length / MB).toFixed(2)} MB  wall worst ${worst.toFixed(1).padStart(6)} ms  cpu best ${cpu.toFixed(1).padStart(6)} ms  ${code}`,
  );
}
