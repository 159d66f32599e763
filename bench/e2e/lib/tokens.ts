/**
 * The tokens a run sends, and the JWKS both authorizers trust. With SIGIL available they come from
 * SIGIL's own issuer (bench/e2e/lib/sigil.ts); this file holds the shared shape, the request mix and
 * a bench-local issuer used when a run has no SIGIL configuration (OPA and baseline only).
 */
import { createPrivateKey, type KeyObject, randomUUID, sign } from 'node:crypto';
import { generateEd25519 } from '../../../src/lib/ed25519-key.js';
import type { Target } from './load.js';

/** The JWKS document (RFC 7517 §5) both authorizers verify against. */
export interface Jwks {
  keys: Array<{ kty: 'OKP'; crv: 'Ed25519'; x: string; kid?: string; alg?: string; use?: string }>;
}

/** Everything a run needs to build its requests. */
export interface TokenSet {
  /** Root `iss`. */
  issuer: string;
  /** Leaf `aud`: the sidecar's SPIFFE ID. */
  audience: string;
  jwks: Jwks;
  /** Root token (depth 1), a plain compact JWS both authorizers can verify. */
  depth1: string;
  /** Depth-3 delegated token (SIGIL only), or undefined. */
  depth3?: string | undefined;
  /** Same shape as depth1, signed by a key the JWKS does not trust (under a trusted kid). */
  forged: string;
  /** Tools the tokens allow, and one they do not. */
  inScope: string[];
  outOfScope: string;
}

/** Scope every benchmark token carries (depth-3 tokens narrow it but keep `fs.read`). */
export const BENCH_SCOPE = ['fs.read', 'fs.write', 'web.*'];
/** Tools the allow traffic asks for (all inside every hop's scope). */
export const BENCH_TOOLS = ['fs.read', 'web.search'];
/** Tool outside every scope. */
export const OUT_OF_SCOPE_TOOL = 'shell.exec';

/**
 * The request mix: 8 allow, 1 forged token, 1 out-of-scope tool in every 10 requests (20 % deny),
 * sent round-robin so every phase has exactly this share.
 */
export function requestMix(ts: TokenSet, leaf: string): Target[] {
  const allow = (i: number): Target => ({
    case: 'allow',
    tool: ts.inScope[i % ts.inScope.length]!,
    token: leaf,
  });
  return [
    allow(0),
    allow(1),
    allow(2),
    allow(3),
    { case: 'bad_token', tool: ts.inScope[0]!, token: ts.forged },
    allow(4),
    allow(5),
    allow(6),
    allow(7),
    { case: 'out_of_scope', tool: ts.outOfScope, token: leaf },
  ];
}

const b64u = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

/** Signs a compact JWS (RFC 7515 §7.1) with Ed25519 (RFC 8037 §3.1). */
export function signJws(header: object, claims: object, key: KeyObject): string {
  const input = `${b64u(header)}.${b64u(claims)}`;
  return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`;
}

/** Replaces a token's signature with one from an untrusted key (same header and claims). */
export function forge(token: string): string {
  const [h, p] = token.split('.');
  const { privateKey } = generateEd25519();
  return `${h}.${p}.${sign(null, Buffer.from(`${h}.${p}`), privateKey).toString('base64url')}`;
}

/**
 * A bench-local issuer: used only when the run has no SIGIL configuration, so (a) and (c) can be
 * measured on their own. Claims follow docs/tbit.md for a root hop.
 */
export function benchIssuerTokens(ttlS = 3600): TokenSet {
  const { publicKey, privateKey } = generateEd25519();
  const kid = 'bench-1';
  const jwk = publicKey.export({ format: 'jwk' }) as { x: string };
  const issuer = 'spiffe://sigil.mesh/sigil/issuer';
  const audience = 'spiffe://sigil.mesh/agent/bench/sidecar';
  const now = Math.floor(Date.now() / 1000);
  const holder = generateEd25519().publicKey.export({ format: 'jwk' }) as { x: string };
  const depth1 = signJws(
    { alg: 'EdDSA', typ: 'tbit+jwt', kid },
    {
      iss: issuer,
      sub: 'spiffe://sigil.mesh/agent/bench/caller',
      aud: audience,
      iat: now,
      nbf: now,
      exp: now + ttlS,
      jti: randomUUID(),
      task_id: 'bench-task',
      tool_scope: BENCH_SCOPE,
      cnf: { jwk: { kty: 'OKP', crv: 'Ed25519', x: holder.x } },
      dep: 1,
      dmax: 10,
    },
    createPrivateKey(privateKey.export({ format: 'pem', type: 'pkcs8' })),
  );
  return {
    issuer,
    audience,
    jwks: { keys: [{ kty: 'OKP', crv: 'Ed25519', x: jwk.x, kid, alg: 'EdDSA', use: 'sig' }] },
    depth1,
    forged: forge(depth1),
    inScope: BENCH_TOOLS,
    outOfScope: OUT_OF_SCOPE_TOOL,
  };
}
