/**
 * Issuer benchmark (`npm run bench:issuer`): what the issuer endpoint adds on top of the token module.
 * Measures, in one run: raw `mintRoot` / `delegate` (the peer), the same through `IssuerService` (key store
 * lookup, request validation, self-verification of what it hands out), and over loopback HTTP/JSON and gRPC
 * (sequential requests, one client). Prints a Markdown table with ratios and the machine. Keep it short.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadConfig } from '../src/config/index.js';
import { LOCAL_OPERATOR } from '../src/issuer/service.js';
import { startIssuer } from '../src/issuer/start.js';
import { issuerOptions } from '../src/serve/index.js';
import { delegate, mintRoot } from '../src/token/index.js';
import { issuerCall, issuerClient } from '../test/support/issuer-grpc.js';

const OPERATOR = 'bench-operator-credential-0123456789';
const AGENT = 'spiffe://sigil.mesh/agent/local/dev';
const WORKER = 'spiffe://sigil.mesh/agent/worker/1';
const N = process.argv.includes('--quick') ? 300 : 1500;

const dir = mkdtempSync(join(tmpdir(), 'sigil-bench-issuer-'));
const config = loadConfig({
  env: {},
  overrides: {
    data_dir: dir,
    issuer: { listen_http: '127.0.0.1:0', listen_grpc: '127.0.0.1:0', operator_token: OPERATOR },
  },
});
const issuer = await startIssuer(issuerOptions(config));
const { keys } = issuer.stores;
const agentKey = keys.agents.ensure(AGENT);
keys.agents.ensure(WORKER);
const svc = issuer.service;
const mintReq = { sub: AGENT, task_id: 'bench-task', tool_scope: ['fs.*', 'web.search'] };
const root = svc.mint(mintReq, LOCAL_OPERATOR).token;
const delReq = { token: root, to: WORKER, tool_scope: ['fs.read'] };

/** Runs `fn` N times (after a warm-up) and returns operations per second. */
async function rate(fn: () => unknown): Promise<number> {
  for (let i = 0; i < Math.min(50, N); i++) await fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await fn();
  return N / (Number(process.hrtime.bigint() - t0) / 1e9);
}

const signer = keys.issuer.signer();
const rawMint = () =>
  mintRoot({
    issuerKey: signer.privateKey,
    kid: signer.kid,
    iss: 'spiffe://sigil.mesh/sigil/issuer',
    sub: AGENT,
    aud: 'spiffe://sigil.mesh',
    taskId: 'bench-task',
    toolScope: mintReq.tool_scope,
    ttl: 300,
    holderKey: { kty: 'OKP', crv: 'Ed25519', x: agentKey.publicJwk.x },
  });
const rawDelegate = () =>
  delegate({ parentToken: root, holderPrivateKey: agentKey.privateKey, sub: WORKER, toolScope: ['fs.read'] });

const post = (path: string, body: unknown, auth = false) =>
  fetch(`${issuer.http!.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${OPERATOR}` } : {}) },
    body: JSON.stringify(body),
  }).then(async (r) => {
    if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
    return r.json();
  });

const client = issuerClient(issuer.grpc!.target);
const md = new grpc.Metadata();
md.set('authorization', `Bearer ${OPERATOR}`);
const call = (method: string, req: object) => issuerCall(client, method, req as Record<string, unknown>, md);

const rows: [string, number, number][] = [];
const mintRaw = await rate(rawMint);
const delRaw = await rate(rawDelegate);
rows.push(['mintRoot (token module, peer)', mintRaw, mintRaw]);
rows.push(['IssuerService.mint', await rate(() => svc.mint(mintReq, LOCAL_OPERATOR)), mintRaw]);
rows.push(['HTTP POST /v1/mint', await rate(() => post('/v1/mint', mintReq, true)), mintRaw]);
rows.push(['gRPC Mint', await rate(() => call('Mint', mintReq)), mintRaw]);
rows.push(['delegate (token module, peer)', delRaw, delRaw]);
rows.push(['IssuerService.delegate', await rate(() => svc.delegate(delReq)), delRaw]);
rows.push(['HTTP POST /v1/delegate', await rate(() => post('/v1/delegate', delReq)), delRaw]);
rows.push(['gRPC Delegate', await rate(() => call('Delegate', delReq)), delRaw]);

client.close();
await issuer.close();
rmSync(dir, { recursive: true, force: true });

const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(
  `machine: ${availableParallelism()} cores (nproc), ${cpu}, node ${process.version}; ${N} sequential ops per row`,
);
console.log('');
console.log('| operation | ops/s | µs/op | time vs token-module peer |');
console.log('|---|---:|---:|---:|');
for (const [name, r, peer] of rows) {
  console.log(`| ${name} | ${r.toFixed(0)} | ${(1e6 / r).toFixed(1)} | ${(peer / r).toFixed(2)}× |`);
}
