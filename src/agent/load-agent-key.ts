/**
 * The agent's own Ed25519 key (docs/agent-sdk.md §Keys). The SDK holds it in the process that signs proofs:
 * a proof must be signed by the token leaf's `cnf` key (docs/pop.md), so whoever sends the requests must hold
 * it. Stored in the sidecar's agent-key format (`<dir>/<hash>.jwk.json`, 0600, immutable once written), so
 * pointing `keyDir` at a sidecar's `<data>/keys/agents` shares one key with that sidecar (then its
 * `POST /v1/delegate` can sign for this agent too).
 */
import type { KeyObject } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { AgentKeyStore } from '../issuer/agent-key-store.js';
import { SigilError } from '../lib/errors.js';
import type { Ed25519PublicJwk } from '../token/index.js';
import { AgentError } from './errors.js';

/** An agent's key pair as the SDK uses it. */
export interface AgentKeyPair {
  spiffeId: string;
  /** RFC 7638 thumbprint of the public key. */
  kid: string;
  privateKey: KeyObject;
  /** What the token's `cnf.jwk` must carry. */
  publicJwk: Ed25519PublicJwk & { kid: string };
}

/**
 * Loads the key of `spiffeId` from `keyDir`, creating the directory (0700) and the key on first use. A second
 * process asking for the same ID at the same time keeps the first key written (create-once).
 */
export function loadAgentKey(keyDir: string, spiffeId: string): AgentKeyPair {
  try {
    mkdirSync(keyDir, { recursive: true, mode: 0o700 });
    const k = new AgentKeyStore(keyDir).ensure(spiffeId);
    return { spiffeId: k.spiffeId, kid: k.kid, privateKey: k.privateKey, publicJwk: k.publicJwk };
  } catch (e) {
    const why = e instanceof SigilError ? `${e.code}: ${e.message}` : String(e);
    throw new AgentError('AGENT_CONFIG_INVALID', `keyDir ${keyDir} / spiffeId ${spiffeId}: ${why}`, {
      cause: e,
    });
  }
}
