/**
 * The audit timeline's filters (docs/api.md "Admin API", `GET /api/decisions` and `/api/decisions/histogram`):
 * parsed once from the query string. Task, agent, decision, time and lifecycle kind are answered by the ledger's
 * indexes; tool, code, token hash and decision id are not indexed and are checked on each decoded record
 * ({@link recordMatch}).
 */
import type { LedgerRecord } from '../../../ledger/index.js';
import { badRequest } from '../errors.js';
import { qString, qTime } from './http.js';

/** Every filter of the audit timeline. Times are epoch ms, inclusive. */
export interface AuditFilter {
  task?: string;
  agent?: string;
  decision?: 'allow' | 'deny';
  kind?: string;
  since?: number;
  until?: number;
  /** One tool of the request (a record's `tool` lists them comma-separated). */
  tool?: string;
  code?: string;
  /** base64url SHA-256 of the presented token, as recorded. */
  token_hash?: string;
  /** Decision id (`x-sigil-decision-id`). */
  id?: string;
}

/** Reads the filters from a query string. @throws AdminApiError `ADMIN_BAD_REQUEST`. */
export function auditFilter(q: URLSearchParams): AuditFilter {
  const decision = qString(q, 'decision', 8);
  if (decision !== undefined && decision !== 'allow' && decision !== 'deny') {
    throw badRequest('decision must be allow or deny');
  }
  const f: AuditFilter = {
    task: qString(q, 'task', 1024),
    agent: qString(q, 'agent', 2048),
    decision,
    kind: qString(q, 'kind', 64),
    since: qTime(q, 'since'),
    until: qTime(q, 'until'),
    tool: qString(q, 'tool', 1024),
    code: qString(q, 'code', 128),
    token_hash: qString(q, 'token_hash', 128),
    id: qString(q, 'id', 256),
  };
  if ((f.since ?? -Infinity) > (f.until ?? Infinity)) throw badRequest('since must not be after until');
  return f;
}

/** The check for the non-indexed filters (tool, code, token hash, id), or undefined when none is given. */
export function recordMatch(f: AuditFilter): ((r: LedgerRecord) => boolean) | undefined {
  const { tool, code, token_hash, id } = f;
  if (tool === undefined && code === undefined && token_hash === undefined && id === undefined)
    return undefined;
  return (record) => {
    const r = record as { tool?: string; code?: string; token_hash?: string; id?: string };
    if (code !== undefined && r.code !== code) return false;
    if (id !== undefined && r.id !== id) return false;
    if (token_hash !== undefined && r.token_hash !== token_hash) return false;
    if (tool !== undefined && !(r.tool ?? '').split(',').includes(tool)) return false;
    return true;
  };
}
