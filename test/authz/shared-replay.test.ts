/**
 * Proof replay across Check workers (docs/workers.md §4): two Check pipelines spend proof jtis in ONE cache owned
 * by another process (a real child forked with `serialization: 'advanced'`, answering over IPC as the primary
 * does). A proof replayed on the other pipeline is denied; a full cache still denies AUTHZ_PROOF_CACHE_FULL; a
 * primary that does not answer denies AUTHZ_PROOF_CACHE_UNAVAILABLE. The in-process path stays synchronous.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { extractRequest } from '../../src/authz/extract-request.js';
import {
  createProofCheck,
  remoteReplayCache,
  type SpendRequest,
  type SpendResult,
} from '../../src/authz/index.js';
import { createProof, verifyChain } from '../../src/token/index.js';
import { codeOfResponse, mcpRequest, proofSetup, T0_MS, urlOf, withProof } from '../support/proof.js';

const PRIMARY = fileURLToPath(new URL('../support/replay-primary.ts', import.meta.url));
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** Forks the stand-in primary and returns its spend request (one id space for every worker of this test). */
async function primary(maxEntries = 1000): Promise<{ child: ChildProcess; request: SpendRequest }> {
  const child = fork(PRIMARY, [String(maxEntries)], {
    execArgv: ['--import', 'tsx'],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.push(child);
  const pending = new Map<number, { resolve: (r: SpendResult) => void; reject: (e: Error) => void }>();
  let next = 0;
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.on('message', (m: { ready?: true; id?: number; result?: SpendResult }) => {
      if (m.ready) resolve();
      else if (m.id !== undefined) {
        pending.get(m.id)?.resolve(m.result!);
        pending.delete(m.id);
      }
    });
  });
  child.on('exit', () => {
    for (const p of pending.values()) p.reject(new Error('primary gone'));
    pending.clear();
  });
  const request: SpendRequest = (jti, untilMs, nowMs) =>
    new Promise((resolve, reject) => {
      if (!child.connected) return reject(new Error('primary gone'));
      const id = next++;
      pending.set(id, { resolve, reject });
      child.send({ id, jti, untilMs, nowMs });
    });
  return { child, request };
}

/** A token with a cnf key on `s`'s identity, one MCP request, and a fresh proof for it per call. */
function proved(s: ReturnType<typeof proofSetup>) {
  const { token, holder } = s.id.mint({ scope: ['fs.*'] });
  const req = mcpRequest('fs.read');
  const proof = () =>
    createProof({
      token,
      holderPrivateKey: holder.priv,
      method: 'POST',
      url: urlOf(req),
      body: req.body,
      nowMs: s.clock.nowMs(),
    });
  return { token, req, proof };
}

/** Two Check workers sharing the primary's cache, and fresh proofs for one request. */
async function workers(maxEntries?: number, timeoutMs = 2000) {
  const p = await primary(maxEntries);
  const s = proofSetup({ proof: 'require' }, remoteReplayCache(p.request, timeoutMs));
  const b = s.pipeline(remoteReplayCache(p.request, timeoutMs));
  const { token, req, proof } = proved(s);
  const on = async (w: { check: typeof s.check }, pr: string) =>
    codeOfResponse(await w.check(withProof(req, token, pr)));
  return { ...p, s, a: { check: s.check, records: s.records }, b, proof, on };
}

describe('a replay cache shared by Check workers', () => {
  it('denies on one worker a proof already spent on the other', async () => {
    const w = await workers();
    const p1 = w.proof();
    expect(await w.on(w.a, p1)).toBe('OK');
    expect(await w.on(w.b, p1)).toBe('AUTHZ_PROOF_REPLAYED');
    expect(w.b.records.at(-1)).toMatchObject({ decision: 'deny', pop: 'rejected' });
    expect(await w.on(w.a, p1)).toBe('AUTHZ_PROOF_REPLAYED');
    expect(await w.on(w.b, w.proof())).toBe('OK');
    expect(w.b.records.at(-1)).toMatchObject({ decision: 'allow', pop: 'verified' });
  });

  it('lets exactly one of two simultaneous uses of a proof through', async () => {
    const w = await workers();
    for (let i = 0; i < 10; i++) {
      const p = w.proof();
      const codes = await Promise.all([w.on(w.a, p), w.on(w.b, p)]);
      expect(codes.sort()).toEqual(['AUTHZ_PROOF_REPLAYED', 'OK']);
    }
  });

  it('keeps AUTHZ_PROOF_CACHE_FULL: a full shared cache denies instead of evicting', async () => {
    const w = await workers(1);
    expect(await w.on(w.a, w.proof())).toBe('OK');
    expect(await w.on(w.b, w.proof())).toBe('AUTHZ_PROOF_CACHE_FULL');
  });

  it('denies AUTHZ_PROOF_CACHE_UNAVAILABLE when the primary stops answering or is gone', async () => {
    const w = await workers(undefined, 200);
    w.child.send({ stall: true });
    const t0 = Date.now();
    expect(await w.on(w.a, w.proof())).toBe('AUTHZ_PROOF_CACHE_UNAVAILABLE');
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(w.a.records.at(-1)).toMatchObject({ decision: 'deny', pop: 'rejected' });
    const exited = new Promise((r) => w.child.once('exit', r));
    w.child.kill('SIGKILL');
    await exited;
    expect(await w.on(w.b, w.proof())).toBe('AUTHZ_PROOF_CACHE_UNAVAILABLE');
  });

  it('denies an answer that is not one of the three (fail closed)', async () => {
    const s = proofSetup({ proof: 'require' }, { spend: async () => 'maybe' as SpendResult });
    const { token, req, proof } = proved(s);
    expect(codeOfResponse(await s.check(withProof(req, token, proof())))).toBe(
      'AUTHZ_PROOF_CACHE_UNAVAILABLE',
    );
  });
});

describe('the in-process replay cache', () => {
  it('answers synchronously: no promise per Check', () => {
    const s = proofSetup();
    const { token, req, proof } = proved(s);
    const pr = proof();
    const step = createProofCheck({ mode: 'require', windowS: 60, skewS: 5, maxEntries: 10 });
    const view = extractRequest(withProof(req, token, pr), 65_536);
    const chain = verifyChain(token, { trust: s.id.trust, clock: s.clock });
    expect(step(view, chain, ['fs.read'], T0_MS)).toBe('verified');
    expect(() => step(view, chain, ['fs.read'], T0_MS)).toThrow(
      expect.objectContaining({ code: 'AUTHZ_PROOF_REPLAYED' }),
    );
    expect(step.cacheSize).toBe(1);
  });
});
