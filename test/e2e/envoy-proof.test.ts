/**
 * Proof of possession end to end through a real Envoy 1.40 (envoy/sidecar.yaml) and `sigil serve`: the proof
 * header and the body reach SIGIL, a replayed request is denied, a stolen token without its key is worthless,
 * and the upstream never sees the token or the proof (docs/proof.md).
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProof, PROOF_HEADER, publicJwkOf } from '../../src/token/index.js';
import { type EnvoyProcess, startTestEnvoy } from '../support/envoy.js';
import { issuerFor, type SigilProcess, startSigilProcess } from '../support/sigil-process.js';
import { type EchoUpstream, startEchoUpstream } from '../support/upstream.js';

const SELF = 'spiffe://sigil.mesh/agent/tools/pop';
const ORCH = 'spiffe://sigil.mesh/agent/orchestrator/pop';

let upstream: EchoUpstream;
let sigil: SigilProcess;
let envoy: EnvoyProcess;
let issuer: Awaited<ReturnType<typeof issuerFor>>;
const holder = generateKeyPairSync('ed25519');
const thief = generateKeyPairSync('ed25519');

beforeAll(async () => {
  upstream = await startEchoUpstream();
  sigil = await startSigilProcess({
    agent: { spiffe_id: SELF },
    authz: { proof: 'when_present', proof_overrides: [{ tools: ['shell.*'], mode: 'require' }] },
  });
  envoy = await startTestEnvoy(sigil.authzPort, upstream.port);
  issuer = await issuerFor(sigil.config);
});

afterAll(async () => {
  issuer?.close();
  await envoy?.stop();
  await sigil?.dispose();
  await upstream?.close();
});

const token = () =>
  issuer.service.mint(
    {
      sub: ORCH,
      task_id: 'task-pop',
      tool_scope: ['fs.*', 'shell.*'],
      aud: SELF,
      ttl: 120,
      holder_key: publicJwkOf(holder.publicKey),
    },
    issuer.operator,
  ).token;

const mcpBody = (name: string, id = 1) =>
  JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: { q: 'x' } } });

async function send(tok: string, body: string, proof?: string) {
  const headers: Record<string, string> = {
    authorization: `Bearer ${tok}`,
    'content-type': 'application/json',
  };
  if (proof !== undefined) headers[PROOF_HEADER] = proof;
  const res = await fetch(`${envoy.url}/mcp`, { method: 'POST', headers, body });
  const text = await res.text();
  let code: unknown;
  try {
    code = (JSON.parse(text) as { code?: unknown }).code;
  } catch {
    code = undefined;
  }
  return { status: res.status, code };
}

const proofFor = (tok: string, body: string, key = holder.privateKey) =>
  createProof({ token: tok, holderPrivateKey: key, method: 'POST', url: `${envoy.url}/mcp`, body });

describe('proof of possession through Envoy', () => {
  it('a proven request passes once; the same request replayed is denied AUTHZ_PROOF_REPLAYED', async () => {
    const tok = token();
    const body = mcpBody('shell.exec');
    const proof = proofFor(tok, body);
    const before = upstream.seen.length;
    expect(await send(tok, body, proof)).toEqual({ status: 200, code: undefined });
    const seen = upstream.seen[before]!;
    expect(seen.headers['x-sigil-sub']).toBe(ORCH);
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers[PROOF_HEADER]).toBeUndefined();
    expect(await send(tok, body, proof)).toEqual({ status: 401, code: 'AUTHZ_PROOF_REPLAYED' });
    expect(upstream.seen.length).toBe(before + 1);
  });

  it('a stolen token without its key: no proof, a proof by another key, or a captured proof reused', async () => {
    const tok = token();
    const body = mcpBody('shell.exec');
    expect(await send(tok, body)).toEqual({ status: 401, code: 'AUTHZ_PROOF_MISSING' });
    expect(await send(tok, body, proofFor(tok, body, thief.privateKey))).toEqual({
      status: 401,
      code: 'AUTHZ_PROOF_INVALID',
    });
    // A proof captured from one tool call does not cover another (the body hash).
    const captured = proofFor(tok, mcpBody('fs.read', 7));
    expect(await send(tok, mcpBody('shell.exec', 7), captured)).toEqual({
      status: 401,
      code: 'AUTHZ_PROOF_MISMATCH',
    });
  });

  it('/metrics counts proof outcomes', async () => {
    const m = await (await fetch(`${sigil.adminUrl}/metrics`)).text();
    expect(m).toMatch(/sigil_proofs_total\{outcome="verified"\} [1-9]/);
    expect(m).toMatch(/sigil_proofs_total\{outcome="rejected"\} [1-9]/);
  });

  it('when_present: a tool without an override passes without a proof, and a bad proof is still denied', async () => {
    const tok = token();
    const body = mcpBody('fs.read');
    expect((await send(tok, body)).status).toBe(200);
    expect(await send(tok, body, proofFor(tok, body, thief.privateKey))).toEqual({
      status: 401,
      code: 'AUTHZ_PROOF_INVALID',
    });
  });
});
