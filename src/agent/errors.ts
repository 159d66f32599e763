/**
 * Stable error codes of the agent SDK (docs/agent-sdk.md §Errors). {@link SigilDeniedError} is the one a caller
 * handles most: SIGIL refused a request and said why (`{error, code, decision_id}`, docs/authz.md §6).
 */
import { SigilError } from '../lib/errors.js';

/** Every stable code the SDK itself raises. */
export type AgentErrorCode =
  /** An option is missing or malformed (named in the message). */
  | 'AGENT_CONFIG_INVALID'
  /** The issuer endpoint refused Mint (its `code` is in `issuerCode`) or could not be reached. */
  | 'AGENT_ISSUER_FAILED'
  /** No token yet: call `startTask` or `acceptToken` first. */
  | 'AGENT_NO_TOKEN'
  /** The token expired and there is no way to refresh it. */
  | 'AGENT_TOKEN_EXPIRED'
  /** The token's leaf `cnf` is not this agent's key: its proofs would be refused, so it is not used. */
  | 'AGENT_NOT_HOLDER'
  /** An MCP tool handler asked for the caller's identity but the request carries no SIGIL headers. */
  | 'AGENT_NO_IDENTITY';

/** Base error of src/agent; `C` is widened only by {@link SigilDeniedError}, whose code is SIGIL's. */
export class AgentError<C extends string = AgentErrorCode> extends SigilError<C> {
  /** The issuer's own code when the issuer endpoint answered with one (AGENT_ISSUER_FAILED). */
  readonly issuerCode: string | undefined;

  constructor(code: C, message: string, o: { cause?: unknown; issuerCode?: string } = {}) {
    super(code, message, { cause: o.cause });
    this.issuerCode = o.issuerCode;
  }
}

/**
 * SIGIL denied a request: `code` is SIGIL's stable deny code (`AUTHZ_TOOL_NOT_IN_SCOPE`, `TBIT_REVOKED`, …,
 * docs/authz.md §9), passed through unchanged so callers match on the same codes as the ledger.
 */
export class SigilDeniedError extends AgentError<string> {
  /** HTTP status of the deny (401, 403, 400, 413, 415, …). */
  readonly status: number;
  /** The decision id: look it up in the ledger (`sigil audit`) or the dashboard. */
  readonly decisionId: string | undefined;

  constructor(sigilCode: string, status: number, decisionId: string | undefined, message: string) {
    super(sigilCode, `SIGIL denied the request (${status} ${sigilCode}): ${message}`);
    this.status = status;
    this.decisionId = decisionId;
  }
}
