/** decodeChain: unverified view of a token for `sigil inspect` and the dashboard (docs/tbit.md §6). */
import type { TbitClaims, TbitHeader } from './api.js';
import { audList } from './lib/audience.js';
import { parseHop, splitToken } from './lib/hop.js';

/** What a hop changed relative to its parent; each field is present only when it changed. */
export interface HopNarrowing {
  scope?: { from: string[]; to: string[] };
  aud?: { from: string[]; to: string[] };
  exp?: { from: number; to: number };
  dmax?: { from: number; to: number };
  /** True when the hop carries no `cnf` (its holder cannot delegate further) while the parent did. */
  delegationEnded?: boolean;
  /** Short human-readable lines, e.g. `scope fs.* → fs.read`. Empty when nothing narrowed. */
  summary: string[];
}

/** One decoded hop. NOT verified: never base a decision on it. */
export interface DecodedHop {
  header: TbitHeader;
  claims: TbitClaims;
  /** base64url SHA-256 of this hop's JWS. */
  hash: string;
  jws: string;
  /** Undefined for the root. */
  narrowed: HopNarrowing | undefined;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function narrowing(p: TbitClaims, c: TbitClaims): HopNarrowing {
  const n: HopNarrowing = { summary: [] };
  if (!sameList(p.tool_scope, c.tool_scope)) {
    n.scope = { from: [...p.tool_scope], to: [...c.tool_scope] };
    n.summary.push(`scope ${p.tool_scope.join(',')} → ${c.tool_scope.join(',')}`);
  }
  const pa = audList(p.aud);
  const ca = audList(c.aud);
  if (!sameList(pa, ca)) {
    n.aud = { from: [...pa], to: [...ca] };
    n.summary.push(`aud ${pa.join(',')} → ${ca.join(',')}`);
  }
  if (c.exp !== p.exp) {
    n.exp = { from: p.exp, to: c.exp };
    n.summary.push(`exp ${p.exp - c.exp >= 0 ? '−' : '+'}${Math.abs(p.exp - c.exp)}s`);
  }
  if (c.dmax !== p.dmax) {
    n.dmax = { from: p.dmax, to: c.dmax };
    n.summary.push(`dmax ${p.dmax} → ${c.dmax}`);
  }
  if (p.cnf !== undefined && c.cnf === undefined) {
    n.delegationEnded = true;
    n.summary.push('no further delegation');
  }
  return n;
}

/**
 * Splits and decodes every hop WITHOUT checking signatures or chain rules (size caps and hop syntax are
 * still enforced, so garbage throws a TbitError). For display and debugging only.
 */
export function decodeChain(token: string): DecodedHop[] {
  const hops = splitToken(token).map(parseHop);
  return hops.map((h, i) => ({
    header: h.header,
    claims: h.claims,
    hash: h.hash,
    jws: h.jws,
    narrowed: i === 0 ? undefined : narrowing(hops[i - 1]!.claims, h.claims),
  }));
}
