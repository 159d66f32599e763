/**
 * The one place the SDK attaches a proof of possession to a request (docs/pop.md): everything else in the
 * SDK only calls {@link proofHeaders}.
 */
import type { AgentKeyPair } from '../load-agent-key.js';

/** What a proof binds: the request as Envoy will see it, and the token it accompanies. */
export interface ProofInput {
  method: string;
  url: string;
  body: Uint8Array | undefined;
  token: string;
  key: AgentKeyPair;
}

/** Headers carrying the proof for one request (empty until proof signing is wired in). */
export function proofHeaders(_p: ProofInput): Record<string, string> {
  return {};
}
