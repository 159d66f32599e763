/** Proof-of-possession fixtures: a Check wired from config with a frozen clock, and raw WPT forgery. */
import { createHmac, type KeyObject, sign } from 'node:crypto';
import type { CheckRequest, CheckResponse } from '../../gen/envoy/service/auth/v3/external_auth_pb.js';
import type { ReplaySpender } from '../../src/authz/index.js';
import { loadConfig } from '../../src/config/index.js';
import { frozenClock } from '../../src/lib/clock.js';
import { checkFromConfig } from '../../src/serve/check-from-config.js';
import { checkRequest, deniedOf, okOf, type RequestParts, toolsCall } from './check-request.js';
import { agentId, testIdentity } from './identity.js';
import { memorySink } from './memory-sink.js';

/** 2026-01-01T00:00:00Z in ms. */
export const T0_MS = 1_767_225_600_000;

/**
 * A Check with `authz` overrides, a frozen clock and a memory ledger. `pipeline(replay)` builds another Check on the
 * same identity, clock and config (a second Check worker), spending proofs in `replay` when given.
 */
export function proofSetup(authz: Record<string, unknown> = {}, replay?: ReplaySpender) {
  const clock = frozenClock(T0_MS);
  const id = testIdentity(clock);
  const config = loadConfig({ env: {}, overrides: { agent: { spiffe_id: agentId('local') }, authz } });
  const pipeline = (r: ReplaySpender | undefined = replay) => {
    const sink = memorySink();
    const { check } = checkFromConfig(config, {
      trust: id.trust,
      ledger: sink,
      clock,
      ...(r ? { replay: r } : {}),
    });
    return { check, records: sink.records };
  };
  const { check, records } = pipeline();
  return { clock, id, check, records, pipeline };
}

/** An MCP tools/call request for `tool` (POST http://agent.local/mcp). */
export function mcpRequest(tool: string, over: RequestParts = {}): RequestParts {
  return {
    method: 'POST',
    path: '/mcp',
    host: 'agent.local',
    body: JSON.stringify(toolsCall(tool)),
    ...over,
    headers: { 'content-type': 'application/json', ...over.headers },
  };
}

/** The URL a client would use for `p` (scheme http, as checkRequest sends). */
export const urlOf = (p: RequestParts): string => `http://${p.host ?? 'agent.local'}${p.path ?? '/mcp'}`;

/** The CheckRequest of `p` carrying `token` and, when given, `proof`. */
export function withProof(p: RequestParts, token: string, proof?: string): CheckRequest {
  return checkRequest(
    { ...p, headers: { ...p.headers, ...(proof !== undefined ? { 'workload-proof-token': proof } : {}) } },
    token,
  );
}

/** The deny code, or 'OK' for an allow. */
export function codeOfResponse(res: CheckResponse): string {
  if (okOf(res)) return 'OK';
  const d = deniedOf(res);
  return String((JSON.parse(d!.body) as { code: string }).code);
}

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

/** A compact JWS with any header and claims, Ed25519-signed by `key` (no checks: for forgeries). */
export function forgeProof(header: object, claims: object, key: KeyObject): string {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`;
}

/** An HS256 JWS keyed with `secret` (the alg-confusion attack: the public key used as an HMAC secret). */
export function forgeHs256(claims: object, secret: string): string {
  const input = `${b64({ alg: 'HS256', typ: 'wpt+jwt' })}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** An unsigned (`alg: none`) JWS. */
export function forgeNone(claims: object): string {
  return `${b64({ alg: 'none', typ: 'wpt+jwt' })}.${b64(claims)}.`;
}

/** The claims of a compact JWS. */
export const claimsOf = (jws: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
