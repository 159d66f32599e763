/**
 * Hand-forged hops for the inspector tests: a child signed with the parent's REAL holder key (so the signature
 * verifies) but breaking a narrowing rule. The token module's own `delegate` refuses to make these; only the
 * verifier can catch them (docs/chains.md).
 */
import { randomUUID, sign } from 'node:crypto';
import { jwkThumbprint } from '../../../src/token/index.js';
import { hopHash } from '../../../src/token/lib/hop.js';
import type { KeyPair } from '../../support/identity.js';

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

/** Appends a child hop that claims `scope` (e.g. wider than the parent's), correctly signed by `holder`. */
export function forgeChild(parent: string, holder: KeyPair, sub: string, scope: string[]): string {
  const leaf = parent.slice(parent.lastIndexOf('~') + 1);
  const p = JSON.parse(Buffer.from(leaf.split('.')[1]!, 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
  const claims = {
    iss: p.sub,
    sub,
    aud: p.aud,
    iat: p.iat,
    nbf: p.iat,
    exp: p.exp,
    jti: randomUUID(),
    task_id: p.task_id,
    tool_scope: scope,
    par: hopHash(leaf),
    dep: (p.dep as number) + 1,
    dmax: p.dmax,
  };
  const input = `${b64({ alg: 'EdDSA', typ: 'tbit+jwt', kid: jwkThumbprint(holder.jwk) })}.${b64(claims)}`;
  return `${parent}~${input}.${sign(null, Buffer.from(input), holder.priv).toString('base64url')}`;
}
