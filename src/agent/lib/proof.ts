/**
 * The one place the SDK attaches a proof of possession to a request: a Workload Proof Token
 * (docs/proof.md; draft-ietf-wimse-wpt-02 §2) signed with the agent key, which the token's leaf `cnf` names.
 */
import { createProof, PROOF_HEADER } from '../../token/index.js';
import type { AgentKeyPair } from '../load-agent-key.js';

/** What a proof binds: the request as Envoy will see it, and the token it accompanies. */
export interface ProofInput {
  method: string;
  url: string;
  body: Uint8Array | undefined;
  token: string;
  key: AgentKeyPair;
  nowMs: number;
}

/** Headers carrying the proof for one request (a fresh `jti` each time: docs/proof.md §1). */
export function proofHeaders(p: ProofInput): Record<string, string> {
  const proof = createProof({
    token: p.token,
    holderPrivateKey: p.key.privateKey,
    method: p.method,
    url: p.url,
    nowMs: p.nowMs,
    ...(p.body !== undefined ? { body: p.body } : {}),
  });
  return { [PROOF_HEADER]: proof };
}
