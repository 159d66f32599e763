/** The agent SDK against a real issuer endpoint (in-process, real HTTP) and real tokens. */
import { createHash, createPublicKey, verify } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentError, SigilAgent, SigilDeniedError } from '../../src/agent/index.js';
import { type RunningIssuer, startIssuer } from '../../src/issuer/start.js';
import { frozenClock } from '../../src/lib/clock.js';
import { SigilError } from '../../src/lib/errors.js';
import { decodeChain, PROOF_HEADER } from '../../src/token/index.js';
import { AGENT, cleanupDirs, OPERATOR, tempDir, testOptions, WORKER } from '../issuer/helpers.js';

/** The stable code of what `p` rejects with (fails when it resolves or throws a non-SIGIL error). */
async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (e instanceof SigilError) return e.code;
    throw e;
  }
  throw new Error('expected a SigilError');
}

let issuer: RunningIssuer;
let keys: string;
beforeAll(async () => {
  issuer = await startIssuer(testOptions(tempDir(), { issuer: { operator_token: OPERATOR } }), {
    grpc: false,
  });
  keys = tempDir('sigil-agent-keys-');
});
afterAll(async () => {
  await issuer.close();
  cleanupDirs();
});

const open = (id: string, extra: Partial<Parameters<typeof SigilAgent.open>[0]> = {}) =>
  SigilAgent.open({
    spiffeId: id,
    keyDir: keys,
    issuerUrl: issuer.http.url,
    operatorToken: OPERATOR,
    ...extra,
  });

describe('keys', () => {
  it('creates the key once (0600) and loads the same key again', () => {
    const a = open(AGENT);
    const b = open(AGENT);
    expect(b.publicJwk).toEqual(a.publicJwk);
    expect(open(WORKER).publicJwk.x).not.toBe(a.publicJwk.x);
    const [file] = readdirSync(keys).filter((f) => f.endsWith('.jwk.json'));
    expect(statSync(join(keys, file!)).mode & 0o777).toBe(0o600);
  });

  it('refuses a bad SPIFFE ID or option with AGENT_CONFIG_INVALID', async () => {
    expect(await codeOf(() => open('not-a-spiffe-id'))).toBe('AGENT_CONFIG_INVALID');
    expect(await codeOf(() => open(AGENT, { refreshBefore: -1 }))).toBe('AGENT_CONFIG_INVALID');
    expect(await codeOf(() => open(AGENT, { issuerUrl: 'nope' }))).toBe('AGENT_CONFIG_INVALID');
  });
});

describe('root token through the issuer endpoint', () => {
  it('mints a token bound to the agent key that the issuer verifies', async () => {
    const a = open(AGENT);
    const token = await a.startTask({ taskId: 'task-a', toolScope: ['fs.*', 'search.web'], ttl: 120 });
    const chain = issuer.service.verify(token, { tool: 'fs.read' });
    expect(chain.leaf.sub).toBe(AGENT);
    expect(chain.leaf.task_id).toBe('task-a');
    expect(chain.leaf.cnf?.jwk.x).toBe(a.publicJwk.x);
    expect(chain.leaf.exp - chain.leaf.iat).toBe(120);
  });

  it('surfaces the issuer refusal code; no operator credential is a config error', async () => {
    const wrong = open(AGENT, { operatorToken: 'wrong-credential' });
    const err = await wrong.startTask({ taskId: 't', toolScope: ['fs.read'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgentError);
    expect((err as AgentError).code).toBe('AGENT_ISSUER_FAILED');
    expect((err as AgentError).issuerCode).toBe('ISSUER_UNAUTHORIZED');
    const bad = await open(AGENT)
      .startTask({ taskId: 't', toolScope: [] })
      .catch((e: unknown) => e);
    expect((bad as AgentError).issuerCode).toBe('ISSUER_BAD_REQUEST');
    const none = SigilAgent.open({ spiffeId: AGENT, keyDir: keys, issuerUrl: issuer.http.url });
    expect(await codeOf(none.startTask({ taskId: 't', toolScope: ['fs.read'] }))).toBe(
      'AGENT_CONFIG_INVALID',
    );
    expect(await codeOf(none.token())).toBe('AGENT_NO_TOKEN');
  });
});

describe('delegation', () => {
  it('narrows scope and lifetime for another agent, bound to that agent key', async () => {
    const a = open(AGENT);
    const w = open(WORKER);
    await a.startTask({ taskId: 'task-d', toolScope: ['fs.*', 'search.web'], ttl: 300 });
    const child = await a.delegate({ to: WORKER, toKey: w.publicJwk, toolScope: ['fs.read'], ttl: 60 });
    const chain = issuer.service.verify(child, { tool: 'fs.read' });
    expect(chain.depth).toBe(2);
    expect(chain.leaf).toMatchObject({ sub: WORKER, task_id: 'task-d', tool_scope: ['fs.read'] });
    expect(chain.leaf.exp - chain.leaf.iat).toBe(60);
    expect(chain.leaf.cnf?.jwk.x).toBe(w.publicJwk.x);
    expect(() => issuer.service.verify(child, { tool: 'fs.write' })).toThrow(/scope/);
    w.acceptToken(child);
    expect(await w.token()).toBe(child);
    // Widening is refused before anything is signed.
    expect(await codeOf(a.delegate({ to: WORKER, toKey: w.publicJwk, toolScope: ['shell.exec'] }))).toBe(
      'TBIT_SCOPE_WIDENED',
    );
  });

  it('refuses a token whose leaf names another key (AGENT_NOT_HOLDER)', async () => {
    const a = open(AGENT);
    const root = await a.startTask({ taskId: 'task-h', toolScope: ['fs.read'] });
    expect(await codeOf(() => open(WORKER).acceptToken(root))).toBe('AGENT_NOT_HOLDER');
    expect(await codeOf(() => open(WORKER).acceptToken('garbage'))).toBe('AGENT_CONFIG_INVALID');
  });
});

describe('refresh before expiry', () => {
  it('re-mints a root once when refreshBefore is reached, concurrent callers share it', async () => {
    const clock = frozenClock(Date.now());
    let mints = 0;
    const counting: typeof fetch = (i, n) => {
      if (String(i).endsWith('/v1/mint')) mints++;
      return fetch(i, n);
    };
    const a = open(AGENT, { clock, refreshBefore: 30, fetch: counting });
    const first = await a.startTask({ taskId: 'task-r', toolScope: ['fs.read'], ttl: 60 });
    clock.advance(29_000);
    expect(await a.token()).toBe(first);
    expect(mints).toBe(1);
    clock.advance(2_000);
    const [x, y] = await Promise.all([a.token(), a.token()]);
    expect(x).toBe(y);
    expect(x).not.toBe(first);
    expect(mints).toBe(2);
    expect(decodeChain(x)[0]!.claims.task_id).toBe('task-r');
  });

  it('a delegated token refreshes through its callback, and fails closed once expired without one', async () => {
    const clock = frozenClock(Date.now());
    const a = open(AGENT);
    const w = open(WORKER, { clock, refreshBefore: 10 });
    await a.startTask({ taskId: 'task-c', toolScope: ['fs.read'], ttl: 300 });
    const give = () => a.delegate({ to: WORKER, toKey: w.publicJwk, toolScope: ['fs.read'], ttl: 20 });
    w.acceptToken(await give());
    clock.advance(15_000);
    let asked = 0;
    w.acceptToken(await give(), () => {
      asked++;
      return give();
    });
    clock.advance(15_000);
    await w.token();
    expect(asked).toBe(1);
    w.acceptToken(await give());
    clock.advance(25_000);
    expect(await codeOf(w.token())).toBe('AGENT_TOKEN_EXPIRED');
  });
});

describe('fetch wrapper and typed denials', () => {
  let server: Server;
  let url: string;
  const seen: Array<{ method: string; auth: string | undefined; body: string }> = [];
  const proofs: string[] = [];
  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ method: req.method!, auth: req.headers.authorization, body });
        proofs.push(String(req.headers[PROOF_HEADER]));
        if (req.url === '/deny') {
          res.writeHead(403, { 'content-type': 'application/json', 'x-sigil-decision-id': 'd-1' });
          res.end(
            JSON.stringify({
              error: 'tool not in scope',
              code: 'AUTHZ_TOOL_NOT_IN_SCOPE',
              decision_id: 'd-1',
            }),
          );
        } else if (req.url === '/redirect') {
          res.writeHead(302, { location: `${url}/x` });
          res.end();
        } else if (req.url === '/app-error') {
          res.writeHead(403, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: 'the app itself says no' }));
        } else res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it('presents the current token and passes the body through unchanged', async () => {
    const a = open(AGENT);
    const token = await a.startTask({ taskId: 'task-f', toolScope: ['fs.read'] });
    const res = await a.fetch(`${url}/x`, {
      method: 'POST',
      headers: { authorization: 'Bearer something-else' },
      body: '{"a":1}',
    });
    expect(await res.text()).toBe('ok');
    expect(seen.at(-1)).toEqual({ method: 'POST', auth: `Bearer ${token}`, body: '{"a":1}' });
    // One fresh proof per request, signed by the agent key (the leaf cnf), bound to method, URI, token, body.
    const [h, c, sig] = proofs.at(-1)!.split('.') as [string, string, string];
    const json = (b: string) => JSON.parse(Buffer.from(b, 'base64url').toString()) as Record<string, unknown>;
    expect(json(h)).toEqual({ alg: 'EdDSA', typ: 'wpt+jwt' });
    const sha = (s: string) => createHash('sha256').update(s).digest('base64url');
    expect(json(c)).toMatchObject({
      htm: 'POST',
      aud: `${url}/x`,
      wth: sha(token),
      'urn:sigil:bth': sha('{"a":1}'),
    });
    const pub = createPublicKey({ key: { ...a.publicJwk }, format: 'jwk' });
    expect(verify(null, Buffer.from(`${h}.${c}`), pub, Buffer.from(sig, 'base64url'))).toBe(true);
    await a.fetch(`${url}/x`, { method: 'POST', body: '{"a":1}' });
    expect(json(proofs.at(-1)!.split('.')[1]!).jti).not.toBe(json(c).jti);
    // A Request object works as input too.
    await a.fetch(new Request(`${url}/y`, { method: 'PUT', body: 'z' }));
    expect(seen.at(-1)).toEqual({ method: 'PUT', auth: `Bearer ${token}`, body: 'z' });
  });

  it('a SIGIL deny is a SigilDeniedError with code, status and decision id; an app error is not', async () => {
    const a = open(AGENT);
    await a.startTask({ taskId: 'task-f', toolScope: ['fs.read'] });
    const err = await a.fetch(`${url}/deny`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SigilDeniedError);
    expect(err).toBeInstanceOf(AgentError);
    expect(err).toMatchObject({ code: 'AUTHZ_TOOL_NOT_IN_SCOPE', status: 403, decisionId: 'd-1' });
    // A redirect is returned, not followed with the token.
    const n = seen.length;
    expect((await a.fetch(`${url}/redirect`)).status).toBe(302);
    expect(seen.length).toBe(n + 1);
    const res = await a.fetch(`${url}/app-error`);
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: 'the app itself says no' });
  });
});
