/**
 * Proof-of-possession benchmark (`npm run bench:proof`, docs/proof.md): in-process Check CPU per request with a
 * Workload Proof Token (authz.proof: require) against the same Check without one (authz.proof: off), the raw
 * node:crypto Ed25519 verify of a proof measured in the same run, and the ratio (with − without) / raw verify
 * (target ≤ 1.2×). Then the replay cache's heap at 5,000 proofs/s over its window (default window 60 s + skew
 * 5 s = 325,000 live entries), measured after forced GCs (node --expose-gc).
 * Same token every request (the verified-chain cache hits, as for an agent's session); every proof is distinct
 * and signed before the timed loop, so only verification is measured. The ledger is a sink that answers at once:
 * this isolates the Check's own CPU. Keep runs short: the machine is shared.
 *
 * Flags: --n N (Checks per round and variant, default 3000), --rounds N (default 3), --memory (only the cache).
 */
import { randomBytes, verify as rawVerify } from 'node:crypto';
import type { CheckFn, DecisionSink } from '../src/authz/index.js';
import { createReplayCache } from '../src/authz/lib/replay-cache.js';
import { loadConfig } from '../src/config/index.js';
import { frozenClock } from '../src/lib/clock.js';
import { generateEd25519 } from '../src/lib/ed25519-key.js';
import { checkFromConfig } from '../src/serve/check-from-config.js';
import { createProof, createTrustStore, mintRoot, PROOF_HEADER, publicJwkOf } from '../src/token/index.js';
import { checkRequest } from '../test/support/check-request.js';

const args = process.argv.slice(2);
const flag = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const N = flag('n', 3000);
const ROUNDS = flag('rounds', 3);
const T0 = 1_767_225_600_000;
const SELF = 'spiffe://sigil.mesh/agent/tools/bench';
const ISS = 'spiffe://sigil.mesh/sigil/issuer';
const clock = frozenClock(T0);
const issuer = generateEd25519();
const holder = generateEd25519();
const trust = createTrustStore({
  jwks: { keys: [{ ...publicJwkOf(issuer.publicKey), kid: 'k1' }] },
  issuers: [ISS],
  trustDomains: ['sigil.mesh'],
});
const token = mintRoot({
  issuerKey: issuer.privateKey,
  kid: 'k1',
  iss: ISS,
  sub: 'spiffe://sigil.mesh/agent/planner/i-1',
  aud: 'spiffe://sigil.mesh',
  taskId: 'bench-task',
  toolScope: ['fs.*'],
  ttl: 300,
  holderKey: publicJwkOf(holder.publicKey),
  clock,
});
const body = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/call',
  params: { name: 'fs.read', arguments: { path: '/srv/data/report.csv' } },
});
const sink: DecisionSink = { append: async () => ({ index: 0, receipt: 'index=0' }) };

function check(proof: 'off' | 'require'): CheckFn {
  const config = loadConfig({ env: {}, overrides: { agent: { spiffe_id: SELF }, authz: { proof } } });
  return checkFromConfig(config, { trust, ledger: sink, clock }).check;
}

const request = (proof?: string) =>
  checkRequest(
    {
      method: 'POST',
      path: '/mcp',
      host: 'agent.local',
      body,
      headers: { 'content-type': 'application/json', ...(proof ? { [PROOF_HEADER]: proof } : {}) },
    },
    token,
  );

const proofs = Array.from({ length: N * ROUNDS + 1 }, () =>
  createProof({
    token,
    holderPrivateKey: holder.privateKey,
    method: 'POST',
    url: 'http://agent.local/mcp',
    body,
    nowMs: T0,
  }),
);

/** CPU µs per Check over `reqs` (awaited one by one; every answer must be an allow). */
async function cpuPerCheck(fn: CheckFn, reqs: ReturnType<typeof request>[]): Promise<number> {
  const c0 = process.cpuUsage();
  for (const r of reqs) {
    const res = await fn(r);
    if (res.status?.code !== 0) throw new Error(`bench request denied: ${JSON.stringify(res.httpResponse)}`);
  }
  const d = process.cpuUsage(c0);
  return (d.user + d.system) / reqs.length;
}

/** CPU µs per raw Ed25519 verify of a proof's signing input. */
function rawVerifyCost(n: number): number {
  const [h, p, s] = proofs[0]!.split('.');
  const data = Buffer.from(`${h}.${p}`, 'latin1');
  const sig = Buffer.from(s!, 'base64url');
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) if (!rawVerify(null, data, holder.publicKey, sig)) throw new Error('verify');
  const d = process.cpuUsage(c0);
  return (d.user + d.system) / n;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  if (args.includes('--memory')) return memory();
  const off = check('off');
  const on = check('require');
  const plain = Array.from({ length: N }, () => request());
  // Warm up both paths (JIT, chain cache, holder-key cache).
  await cpuPerCheck(off, plain.slice(0, 200));
  await cpuPerCheck(on, [request(proofs.at(-1))]);
  rawVerifyCost(500);
  const without: number[] = [];
  const withProof: number[] = [];
  const raw: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    without.push(await cpuPerCheck(off, plain));
    withProof.push(
      await cpuPerCheck(
        on,
        proofs.slice(r * N, (r + 1) * N).map((p) => request(p)),
      ),
    );
    raw.push(rawVerifyCost(N));
  }
  const a = median(without);
  const b = median(withProof);
  const v = median(raw);
  console.log(`Check CPU without proof:  ${a.toFixed(1)} µs`);
  console.log(`Check CPU with proof:     ${b.toFixed(1)} µs`);
  console.log(`raw Ed25519 verify:       ${v.toFixed(1)} µs`);
  console.log(
    `proof overhead:           ${(b - a).toFixed(1)} µs = ${((b - a) / v).toFixed(2)}× raw verify (target ≤ 1.2×)`,
  );

  await memory();
}

/** Replay cache memory: 5,000 proofs/s over window + skew (60 + 5 s). */
async function memory(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) {
    console.log('replay cache memory: run with node --expose-gc');
    return;
  }
  const entries = 5000 * 65;
  // lru-cache keeps its links and TTLs in typed arrays sized by `max` (outside the JS heap): count both.
  const used = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  // One cache per process: a second one would see the first's buffers freed only lazily.
  for (const max of [500_000]) {
    gc();
    const h0 = used();
    const cache = createReplayCache(max);
    for (let i = 0; i < entries; i++) cache.spend(randomBytes(16).toString('base64url'), T0 + 65_000, T0);
    gc();
    gc();
    const full = used() - h0;
    console.log(
      `replay cache max ${max.toLocaleString('en')} with ${cache.size.toLocaleString('en')} live jtis (5,000/s × 65 s): ${(full / 2 ** 20).toFixed(1)} MiB (${Math.round(full / entries)} B per live entry, slots included)`,
    );
  }
}

await main();
