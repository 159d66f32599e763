/**
 * What Check workers decide with comes from the primary (docs/workers.md), end to end in `sigil serve` with
 * `workers: 2`: a real OPA-compiled policy bundle loaded by the primary and replicated by bytes (a new revision on
 * disk is in force in both workers), and proofs of possession spent in the primary's one replay cache (a proof
 * replayed to the other worker is denied). Real gRPC over four connections, a real LMDB ledger.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@grpc/grpc-js';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_OPERATOR } from '../../src/issuer/service.js';
import type { RunningSigil } from '../../src/serve/index.js';
import { createProof, publicJwkOf } from '../../src/token/index.js';
import { opaBuildSources } from '../policy/support.js';
import { callCheck } from '../support/authz-client.js';
import { codeOfResponse, mcpRequest, urlOf, withProof } from '../support/proof.js';
import { metricSample, startWorkersSigil, type WorkersSigil } from '../support/workers.js';

const SELF = 'spiffe://sigil.mesh/agent/tools/workers-state';
const holder = generateKeyPairSync('ed25519');
let dir: string;
let bundle: string;
let sigil: RunningSigil;
let clients: Client[] = [];

/** A bundle allowing verified chains except for `denied`, at `revision`. */
const policy = (revision: string, denied: string) =>
  opaBuildSources(
    {
      'authz.rego': `package envoy.authz\n\ndefault allow := false\n\nallow if {\n\tinput.sigil.valid\n\tnot "${denied}" in input.sigil.tools\n}\n`,
    },
    ['envoy/authz/allow'],
    revision,
  );

let ws: WorkersSigil;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sigil-workers-state-'));
  bundle = join(dir, 'bundle.tar.gz');
  writeFileSync(bundle, policy('rev-1', 'fs.write'));
  ws = await startWorkersSigil(
    {
      agent: { spiffe_id: SELF },
      authz: { proof: 'when_present', proof_overrides: [{ tools: ['shell.*'], mode: 'require' }] },
      policy: { bundle, poll_interval: 1 },
      audit: { durability: 'fast', checkpoint_interval: 0 },
    },
    { logger: pino({ level: 'silent' }), dir },
  );
  sigil = ws.sigil;
  clients = ws.clients;
}, 60_000);

afterAll(async () => {
  await ws?.stop();
});

const metric = (sample: string) => metricSample(`${sigil.admin.url}/metrics`, sample);

const mint = () =>
  sigil.issuer.service.mint(
    {
      sub: 'spiffe://sigil.mesh/agent/c/state',
      task_id: 'state',
      tool_scope: ['fs.*', 'shell.*'],
      aud: SELF,
      holder_key: publicJwkOf(holder.publicKey),
    },
    LOCAL_OPERATOR,
  ).token;

/** `tool` over MCP on every connection (so on both workers), with a fresh proof each when `prove`. */
async function everywhere(token: string, tool: string): Promise<string[]> {
  const req = mcpRequest(tool);
  return Promise.all(clients.map((c) => callCheck(c, withProof(req, token)).then(codeOfResponse)));
}

describe('Check workers decide with the primary state', () => {
  it("the primary's policy bundle, and a new revision once it is loaded", async () => {
    const token = mint();
    expect(await everywhere(token, 'fs.read')).toEqual(['OK', 'OK', 'OK', 'OK']);
    expect(await everywhere(token, 'fs.write')).toEqual(Array(4).fill('POLICY_DENIED'));
    const rev = sigil.policy!.engine.revision;
    expect(rev).toBe('rev-1');
    writeFileSync(bundle, policy('rev-2', 'fs.read'));
    const end = Date.now() + 20_000;
    while (sigil.policy!.engine.revision !== 'rev-2') {
      if (Date.now() > end) throw new Error('the primary did not load rev-2');
      await new Promise((r) => setTimeout(r, 50));
    }
    // The swap (revision rev-2 above) then waits for every worker's acknowledgement (docs/workers.md §3); inForce
    // queues behind those updates, so after it no worker decides on rev-1.
    await sigil.workers!.inForce();
    expect(await everywhere(token, 'fs.read')).toEqual(Array(4).fill('POLICY_DENIED'));
    expect(await everywhere(token, 'fs.write')).toEqual(['OK', 'OK', 'OK', 'OK']);
    const recs = sigil.ledger.query({ limit: 100 }).map((h) => h.record);
    expect(recs.filter((r) => r.policy_rev === 'rev-2').length).toBe(8);
  }, 60_000);

  it('a proof spent on one worker is a replay on the other: exactly one of four passes', async () => {
    const token = mint();
    const req = mcpRequest('shell.exec');
    const proof = createProof({
      token,
      holderPrivateKey: holder.privateKey,
      method: 'POST',
      url: urlOf(req),
      body: req.body as string,
    });
    const codes = await Promise.all(
      clients.map((c) => callCheck(c, withProof(req, token, proof)).then(codeOfResponse)),
    );
    expect(codes.filter((c) => c === 'OK')).toHaveLength(1);
    expect(codes.filter((c) => c === 'AUTHZ_PROOF_REPLAYED')).toHaveLength(3);
    expect(await metric('sigil_authz_worker_checks_total{worker="0"}')).toBeGreaterThan(0);
    expect(await metric('sigil_authz_worker_checks_total{worker="1"}')).toBeGreaterThan(0);
    // Without a proof, the override requires one.
    expect(await everywhere(token, 'shell.exec')).toEqual(Array(4).fill('AUTHZ_PROOF_MISSING'));
  });
});
