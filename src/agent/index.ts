/**
 * `sigil/agent`: the agent SDK (docs/agent-sdk.md). Key, root token, delegation, refresh, and a `fetch` that
 * presents the token with a proof of possession. The MCP adapter is `sigil/agent/mcp` (optional peer).
 */
export {
  type DelegateRequest,
  type FetchLike,
  type RootRequest,
  SigilAgent,
  type SigilAgentOptions,
} from './agent.js';
export { AgentError, type AgentErrorCode, SigilDeniedError } from './errors.js';
export { type AgentKeyPair, loadAgentKey } from './load-agent-key.js';
export { readDenial } from './read-denial.js';
