/**
 * Property (docs/proof.md §4): a valid request + proof stays allowed under a mutation exactly when the mutated
 * request is semantically the same one (same method, canonical target URI, query bytes, body bytes, token);
 * every other mutation is denied. Each run signs a fresh proof, so the replay cache never decides.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createProof } from '../../src/token/index.js';
import { codeOfResponse, mcpRequest, proofSetup, withProof } from '../support/proof.js';

const w = proofSetup();
const { token, holder } = w.id.mint({ scope: ['fs.*'] });
const other = w.id.mint({ scope: ['fs.*'], holder, task: 'task-2' }).token;

const seg = fc.stringMatching(/^[a-z0-9._~-]{1,8}$/).filter((s) => s !== '.' && s !== '..');
const query = fc.stringMatching(/^[a-z0-9=&%]{0,12}$/);
const base = fc.record({
  method: fc.constantFrom('POST', 'PUT', 'PATCH'),
  host: fc.constantFrom('agent.local', 'a.example', '127.0.0.1:10000'),
  segs: fc.array(seg, { maxLength: 3 }),
  query,
  id: fc.nat({ max: 1000 }),
});

type Mutation =
  | { k: 'none' | 'hostUpper' | 'port80' | 'schemeUpper' | 'otherToken' | 'schemeHttps' }
  | { k: 'method'; v: string }
  | { k: 'host'; v: string }
  | { k: 'path'; v: string }
  | { k: 'query'; v: string }
  | { k: 'bodyId'; v: number }
  | { k: 'bodySpace' };
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constantFrom(
    ...(
      ['none', 'hostUpper', 'port80', 'schemeUpper', 'otherToken', 'schemeHttps', 'bodySpace'] as const
    ).map((k) => ({ k }) as Mutation),
  ),
  fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH').map((v) => ({ k: 'method', v }) as Mutation),
  fc
    .constantFrom('agent.local', 'b.example', 'agent.local:8080', '127.0.0.1:10001')
    .map((v) => ({ k: 'host', v }) as Mutation),
  seg.map((v) => ({ k: 'path', v }) as Mutation),
  query.map((v) => ({ k: 'query', v }) as Mutation),
  fc.nat({ max: 1000 }).map((v) => ({ k: 'bodyId', v }) as Mutation),
);

describe('proof binding property', () => {
  it('a mutated request is allowed iff it is semantically the same request', async () => {
    await fc.assert(
      fc.asyncProperty(base, mutation, async (b, m) => {
        const path = `/mcp${b.segs.map((s) => `/${s}`).join('')}`;
        const body = (id: number, sp = '') => JSON.stringify({ ...mcpBody(id) }) + sp;
        const orig: Record<'method' | 'host' | 'path' | 'query' | 'body' | 'tok', string> = {
          method: b.method,
          host: b.host,
          path,
          query: b.query,
          body: body(b.id),
          tok: token,
        };
        const proof = createProof({
          token,
          holderPrivateKey: holder.priv,
          method: orig.method,
          url: `http://${orig.host}${path}${orig.query ? `?${orig.query}` : ''}`,
          body: orig.body,
          nowMs: w.clock.nowMs(),
        });
        const mut = { ...orig, scheme: 'http' };
        switch (m.k) {
          case 'method':
            mut.method = m.v;
            break;
          case 'host':
            mut.host = m.v;
            break;
          case 'hostUpper':
            mut.host = mut.host.toUpperCase();
            break;
          case 'port80':
            if (!mut.host.includes(':')) mut.host = `${mut.host}:80`;
            break;
          case 'schemeUpper':
            mut.scheme = 'HTTP';
            break;
          case 'schemeHttps':
            mut.scheme = 'https';
            break;
          case 'path':
            mut.path = `${mut.path}/${m.v}`;
            break;
          case 'query':
            mut.query = m.v;
            break;
          case 'bodyId':
            mut.body = body(m.v);
            break;
          case 'bodySpace':
            mut.body = body(b.id, ' ');
            break;
          case 'otherToken':
            mut.tok = other;
            break;
        }
        const req = withProof(
          {
            ...mcpRequest('fs.read'),
            method: mut.method,
            host: mut.host,
            path: `${mut.path}${mut.query ? `?${mut.query}` : ''}`,
            body: mut.body,
          },
          mut.tok,
          proof,
        );
        req.attributes!.request!.http!.scheme = mut.scheme;
        const same =
          mut.method === orig.method &&
          canonical(mut.scheme, mut.host) === canonical('http', orig.host) &&
          mut.path === orig.path &&
          mut.query === orig.query &&
          mut.body === orig.body &&
          mut.tok === orig.tok;
        const code = codeOfResponse(await w.check(req));
        expect(code === 'OK', `${JSON.stringify(m)} → ${code}`).toBe(same);
        // A mutation may also make the request itself invalid (a `.` path segment): still a deny, never an allow.
        if (!same) expect(code).toMatch(/^AUTHZ_(PROOF_MISMATCH|BAD_REQUEST)$/);
      }),
      { numRuns: 300, seed: 22 },
    );
  });
});

function mcpBody(id: number) {
  return { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'fs.read', arguments: {} } };
}

/** The test's own statement of "same origin": scheme and host case-folded, http's :80 dropped. */
function canonical(scheme: string, host: string): string {
  const h = host.toLowerCase();
  return `${scheme.toLowerCase()}://${h.endsWith(':80') ? h.slice(0, -3) : h}`;
}
