/**
 * The token inspector behind `POST /api/verify-token`: decodes the hops for display (src/token decodeChain) and
 * verifies the chain with the sidecar's own trust store and limits (src/token verifyChain), so the code shown is
 * exactly what Check would produce for the chain itself. No audience or tool is imposed: the inspector answers
 * "is this chain valid", not "may it call this sidecar". Nothing is logged or kept.
 */

import { decodeChain, TbitError, type VerifyOptions, verifyChain } from '../../../token/index.js';
import type { InspectedHop, TokenInspection } from '../types.js';

/** Verification options without audience/tool (they depend on the request, not the chain). */
export type InspectOptions = Omit<VerifyOptions, 'audience' | 'tool'>;

/** Decodes and verifies `token` with the trust store and limits `sigil serve` verifies with; never throws. */
export function inspectToken(token: string, options: InspectOptions): TokenInspection {
  let hops: InspectedHop[] = [];
  try {
    hops = decodeChain(token).map((h) => ({
      sub: h.claims.sub,
      iss: h.claims.iss,
      aud: h.claims.aud,
      task_id: h.claims.task_id,
      tool_scope: [...h.claims.tool_scope],
      iat: h.claims.iat,
      nbf: h.claims.nbf,
      exp: h.claims.exp,
      jti: h.claims.jti,
      dep: h.claims.dep,
      dmax: h.claims.dmax,
      kid: h.header.kid,
      alg: h.header.alg,
      delegable: h.claims.cnf !== undefined,
      narrowed: h.narrowed?.summary ?? [],
    }));
  } catch {
    // Undecodable: verifyChain below reports the precise code.
  }
  try {
    verifyChain(token, options);
    return { hops, valid: true, code: 'OK' };
  } catch (e) {
    if (e instanceof TbitError) {
      return { hops, valid: false, code: e.code, error: e.message, hop: e.hop };
    }
    // Fail closed: an unexpected failure is reported as malformed, never as valid.
    return { hops, valid: false, code: 'TBIT_MALFORMED', error: 'token could not be verified' };
  }
}
