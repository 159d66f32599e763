/**
 * `npm run bench:replay`: `sigil policy replay` throughput — recorded decisions re-evaluated per second under a
 * candidate bundle (docs/policy.md §13). Creates a ledger of N decision records (default 100 000; `--entries N`)
 * in a temp dir (real LMDB, `fast` durability so that set-up is quick), builds a candidate with the real OPA CLI
 * and replays the whole ledger as the CLI does (decode each entry, rebuild the input, evaluate, tally).
 * Prints machine info, the set-up time and the replay rate.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type DecisionRecord, decodeRecord, MerkleLog } from '../src/ledger/index.js';
import { DecisionReplay, inputDependencies, loadBundle } from '../src/policy/index.js';

const ROOT = resolve(import.meta.dirname, '..');
const OPA = join(ROOT, '.tools/bin/opa');
const args = process.argv.slice(2);
const N = (() => {
  const i = args.indexOf('--entries');
  return i >= 0 ? Number(args[i + 1]) : 100_000;
})();

const REGO = `package envoy.authz
default allow := false
research if startswith(input.sigil.sub, "spiffe://ex.org/agent/research")
allow if { research; input.sigil.tool in {"web.search", "fs.read"}; input.sigil.depth <= 3 }
allow if { not research; input.sigil.valid; not startswith(input.sigil.tool, "shell.") }
allow if { input.sigil.public_route; input.attributes.request.http.method == "GET" }
`;

const TOOLS = ['web.search', 'fs.read', 'fs.write', 'shell.exec', 'db.query'];
const AGENTS = ['research/a', 'research/b', 'ops/a', 'ops/b', 'billing/x'];

function record(i: number): DecisionRecord {
  const sub = `spiffe://ex.org/agent/${AGENTS[i % AGENTS.length]}`;
  const tool = TOOLS[(i >> 2) % TOOLS.length]!;
  const allow = i % 7 !== 0;
  return {
    v: 1,
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    ts: 1_767_225_600_000 + i * 10,
    decision: allow ? 'allow' : 'deny',
    code: allow ? 'OK' : 'POLICY_DENIED',
    http_status: allow ? 200 : 403,
    sub,
    task_id: `task-${i % 97}`,
    tool,
    depth: 2,
    chain: [
      {
        sub: 'spiffe://ex.org/agent/root',
        iss: 'spiffe://ex.org/sigil/issuer',
        jti: `r${i}`,
        tool_scope: ['*'],
        exp: 2e9,
      },
      { sub, iss: 'spiffe://ex.org/agent/root', jti: `l${i}`, tool_scope: [tool], exp: 2e9 },
    ],
    method: 'POST',
    host: 'tools.ex.org',
    path: '/mcp',
    token_hash: 'q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c',
    policy_rev: 'current-1',
  };
}

const tmp = mkdtempSync(join(tmpdir(), 'sigil-bench-replay-'));
try {
  console.log(
    `machine: nproc=${cpus().length} cpu="${cpus()[0]?.model ?? 'unknown'}" node=${process.version} load=${loadavg()
      .map((l) => l.toFixed(2))
      .join(',')}`,
  );
  const src = join(tmp, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'policy.rego'), REGO);
  execFileSync(
    OPA,
    ['build', '-t', 'wasm', '-e', 'envoy/authz/allow', '--wasm-include-print', '-o', '../b.tar.gz', '.'],
    {
      cwd: src,
    },
  );
  const bytes = readFileSync(join(tmp, 'b.tar.gz'));

  let t = performance.now();
  const log = await MerkleLog.open(join(tmp, 'ledger'), { durability: 'fast', checkpointIntervalSec: 0 });
  const batch: Promise<unknown>[] = [];
  for (let i = 0; i < N; i++) {
    batch.push(log.appendDecision(record(i)));
    if (batch.length === 1000) await Promise.all(batch.splice(0));
  }
  await Promise.all(batch);
  await log.close();
  console.log(`ledger: ${N} decision records written in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  t = performance.now();
  const bundle = await loadBundle(bytes);
  const replay = new DecisionReplay(bundle, {
    dependencies: await inputDependencies(bytes, bundle.entrypoint, OPA, { 'policy.rego': REGO }),
  });
  const setupMs = performance.now() - t;
  const ro = await MerkleLog.open(join(tmp, 'ledger'), { readOnly: true, checkpointIntervalSec: 0 });
  t = performance.now();
  for (let i = 0; i < ro.size; i++) replay.add(i, decodeRecord(ro.entry(i)));
  const s = (performance.now() - t) / 1000;
  await ro.close();
  const r = replay.report();
  if (r.replayed !== N)
    throw new Error(`expected ${N} exact replays, got ${JSON.stringify(r.not_replayable)}`);
  console.log(`candidate set-up (load + opa rebuild check + opa deps): ${setupMs.toFixed(0)} ms`);
  console.log(
    `replay: ${r.replayed} decisions in ${s.toFixed(2)} s = ${Math.round(r.replayed / s)} decisions/s ` +
      `(${((s * 1e6) / r.replayed).toFixed(1)} µs each); flips allow->deny ${r.flips.allow_to_deny}, deny->allow ${r.flips.deny_to_allow}`,
  );
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
