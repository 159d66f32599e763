/**
 * The dashboard's admin API: a request handler the admin HTTP server (src/admin/server.ts) mounts. It answers
 * `/api/*` (JSON, read-only except policy eval/upload/compile/replay/activate, session and token inspection) and the built dashboard's
 * static files; every other path is left to the server (it returns false). Spec: docs/api.md "Admin API",
 * docs/dashboard.md.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MerkleLog } from '../../ledger/index.js';
import { credentialMatches } from '../../lib/bytes.js';
import { type Clock, systemClock } from '../../lib/clock.js';
import { requireTimeMs } from '../../lib/parse-time.js';
import type { PolicyEngine } from '../../policy/index.js';
import type { AdminHandler } from '../server.js';
import { AdminApiError, badRequest } from './errors.js';
import { type AuditFilter, auditFilter, recordMatch } from './lib/audit-filter.js';
import { bearerOf, cookieOf, SESSION_COOKIE, SessionStore } from './lib/auth.js';
import { EventStreams } from './lib/events.js';
import { buildGraph, type GraphData } from './lib/graph.js';
import {
  isJsonObject,
  mediaType,
  qInt,
  qString,
  readBody,
  readJsonObject,
  sendError,
  sendJson,
} from './lib/http.js';
import { type InspectOptions, inspectToken } from './lib/inspect-token.js';
import { adminLedger, type DecisionEntry, type DecisionFilter, MAX_PROOFS } from './lib/ledger.js';
import { adminNlPolicy, compileView } from './lib/nlpolicy.js';
import { adminPolicy } from './lib/policy.js';
import { RecentDecisions } from './lib/recent.js';
import { staticFiles } from './lib/static.js';
import type { PolicyInfo } from './types.js';

/**
 * What the admin API serves and how (src/serve maps `sigil.admin`, `sigil.validator`, `sigil.policy` here).
 * Parts left out answer ADMIN_UNAVAILABLE.
 */
export interface AdminApiOptions {
  /** The admin credential (`sigil.admin.token`), at least 16 characters. */
  adminToken: string;
  ledger?: MerkleLog;
  /** The trust store and limits Check verifies with, for the token inspector (clock: `clock` by default). */
  tokens?: InspectOptions;
  /**
   * The engine the policy view shows, evaluates with and uploads to (the Check path's own, so an upload is in
   * force for Checks when it answers), and its entrypoint. The caller closes the engine.
   */
  policy?: {
    engine: PolicyEngine;
    entrypoint: string;
    /** Evaluation budget per replayed decision, ms (`sigil.policy.eval_timeout_ms`; default the policy module's). */
    evalTimeoutMs?: number;
  };
  /** Built dashboard directory (default: found next to the package); `null` serves no UI. */
  dashboardDir?: string | null;
  /** Extra origins the dashboard's CSP lets it fetch from (`sigil.admin.connect_src`: the mesh collector). */
  connectSrc?: readonly string[];
  clock?: Clock;
  /** Session cookie lifetime, ms (default 12 h). */
  sessionTtlMs?: number;
  /** Largest number of concurrent event streams (default 32). */
  maxStreams?: number;
  /** SSE keep-alive comment interval, ms (default 15 s). */
  heartbeatMs?: number;
}

/** The handler to mount on the admin server, plus `close()`: ends live event streams and the ledger feed. */
export type AdminApiHandler = AdminHandler & { close(): void };

/** Largest token the inspector accepts (a depth-10 chain is ~10 KB; docs/tbit.md). */
const MAX_TOKEN_BODY = 64 * 1024;
/** Largest policy-eval input. */
const MAX_EVAL_BODY = 1024 * 1024;
/** Largest uploaded bundle. */
const MAX_BUNDLE_BODY = 16 * 1024 * 1024;
/** Largest English policy text (a 100-sentence policy is ~10 KB). */
const MAX_POLICY_TEXT = 256 * 1024;
/** Most records one page of /api/decisions returns. */
const MAX_LIMIT = 1000;
/** Most records /api/graph reads. */
const GRAPH_WINDOW = 5000;

/** Answers one request: resolves with the JSON body of a 200, or undefined when it answered itself. */
type Route = (req: IncomingMessage, res: ServerResponse, url: URL) => unknown;
type AuthKind = 'bearer' | 'cookie';

/**
 * Creates the admin API handler. Throws AdminApiError(ADMIN_BAD_REQUEST) when the admin token is shorter than
 * 16 characters (the config schema already enforces it; this guards programmatic use).
 */
export function createAdminApi(o: AdminApiOptions): AdminApiHandler {
  const token = o.adminToken;
  if (typeof token !== 'string' || token.length < 16) {
    throw badRequest('admin token must be at least 16 characters');
  }
  const clock = o.clock ?? systemClock;
  const ledgerView = o.ledger && adminLedger(o.ledger);
  const policyView = o.policy && adminPolicy(o.policy.engine, o.policy.entrypoint, clock);
  const sessionTtlMs = o.sessionTtlMs ?? 12 * 3600_000;
  const sessions = new SessionStore(clock, sessionTtlMs);
  const streams = new EventStreams(o.maxStreams ?? 32, o.heartbeatMs ?? 15_000);
  const serveFile = staticFiles(o.dashboardDir, o.connectSrc);

  let recent: RecentDecisions | undefined;
  let graphs: { entries: DecisionEntry[]; byTask: Map<string, GraphData> } | undefined;
  const need = <T>(part: T | undefined, what: string): T => {
    if (part === undefined) throw new AdminApiError('ADMIN_UNAVAILABLE', `the ${what} is not available`);
    return part;
  };
  const ledger = () => need(ledgerView, 'audit ledger');
  const policy = () => need(policyView, 'policy engine');
  const authoring =
    policyView &&
    adminNlPolicy({
      entrypoint: o.policy!.entrypoint,
      upload: (bundle) => policyView.upload(bundle),
      ledger: () => need(o.ledger, 'audit ledger'),
      ...(o.policy?.evalTimeoutMs !== undefined ? { timeoutMs: o.policy.evalTimeoutMs } : {}),
    });
  const nl = () => need(authoring, 'policy engine');
  const session = (res: ServerResponse, id: string, maxAge: number): void => {
    res.writeHead(204, {
      'cache-control': 'no-store',
      'set-cookie': `${SESSION_COOKIE}=${id}; Path=/api; HttpOnly; SameSite=Strict; Max-Age=${maxAge}`,
    });
    res.end();
  };

  const routes: Record<string, Partial<Record<string, Route>>> = {
    '/api/session': {
      post: (_req, res) => {
        session(res, sessions.create(), Math.floor(sessionTtlMs / 1000));
        // A dashboard is opening: build the histogram's caches now rather than on its first query.
        if (ledgerView) setImmediate(() => ledgerView.warm());
      },
      delete: (req, res) => {
        const id = cookieOf(req, SESSION_COOKIE);
        if (id) sessions.revoke(id);
        session(res, '', 0);
      },
    },
    '/api/status': {
      get: () => ({
        now: clock.nowMs(),
        ledger: ledgerView ? { size: ledgerView.size() } : null,
        policy: policyView ? { revision: policyView.info().revision ?? null } : null,
        tokens: o.tokens !== undefined,
        streams: streams.size,
      }),
    },
    '/api/decisions': {
      get: async (_req, _res, url) => {
        const q = url.searchParams;
        const f = auditFilter(q);
        const { items, next } = await ledger().page(decisionFilter(q, f), recordMatch(f));
        return { items, next_before: next ?? null, size: ledger().size() };
      },
    },
    '/api/decisions/histogram': {
      get: async (_req, _res, url) => {
        await ledger().caughtUp();
        const q = url.searchParams;
        const f = auditFilter(q);
        const until = f.until ?? clock.nowMs();
        const since = f.since ?? Math.max(0, until - 3600_000);
        if (since > until) throw badRequest('since must not be after until');
        const match = recordMatch(f);
        const h = ledger().histogram({
          since,
          until,
          buckets: qInt(q, 'buckets', 1, 1000) ?? 60,
          task: f.task,
          agent: f.agent,
          decision: f.decision,
          kind: f.kind,
          ...(match ? { match } : {}),
        });
        const total = { allow: 0, deny: 0, other: 0 };
        for (const b of h.buckets) {
          total.allow += b.allow;
          total.deny += b.deny;
          total.other += b.other;
        }
        return {
          since: h.since,
          until: h.until,
          bucket_ms: h.bucketMs,
          buckets: h.buckets,
          total,
          complete: h.complete,
          ...(h.cutAt !== undefined ? { cut_at: h.cutAt } : {}),
          decoded: h.decoded,
          archived: h.archived,
          took_ms: h.tookMs,
          size: ledger().size(),
        };
      },
    },
    '/api/proofs': {
      get: (_req, _res, url) => {
        const raw = qString(url.searchParams, 'indices', MAX_PROOFS * 17) ?? '';
        const parts = raw.split(',');
        if (raw === '' || parts.length > MAX_PROOFS || !parts.every((p) => /^\d{1,15}$/.test(p)))
          throw badRequest(`indices must be 1 to ${MAX_PROOFS} comma-separated entry indices`);
        return ledger().proofs(parts.map(Number));
      },
    },
    '/api/consistency': {
      get: (_req, _res, url) => {
        const q = url.searchParams;
        const from = qInt(q, 'from', 1, Number.MAX_SAFE_INTEGER);
        if (from === undefined) throw badRequest('from (the tree size verified before) is required');
        return ledger().consistency(from, qInt(q, 'to', 1, Number.MAX_SAFE_INTEGER));
      },
    },
    '/api/lifecycle': {
      post: async (req) => ledger().recordCli(await readJsonObject(req, MAX_TOKEN_BODY)),
    },
    '/api/graph': {
      get: async (_req, _res, url) => {
        const task = qString(url.searchParams, 'task', 1024) ?? '';
        // Every task for the filter box comes from the same window, so read it unfiltered and filter in the builder.
        recent ??= new RecentDecisions(ledger(), GRAPH_WINDOW);
        const entries = await recent.get();
        // Several open dashboards refetch after the same decisions: build each (window, filter) once.
        if (graphs?.entries !== entries) graphs = { entries, byTask: new Map() };
        let graph = graphs.byTask.get(task);
        if (!graph) {
          graph = buildGraph(entries, task || undefined);
          if (graphs.byTask.size < 64) graphs.byTask.set(task, graph);
        }
        return graph;
      },
    },
    '/api/events': {
      get: (req, res) => {
        const log = ledger();
        streams.open(req, res, () => log.onAppend(streams));
      },
    },
    '/api/checkpoint': { get: () => ledger().checkpoint() },
    '/api/verifier-key': { get: () => ({ key: ledger().verifierKey() }) },
    // Only plain decimal digits are valid, so no percent-decoding is needed (and none can throw).
    '/api/proof/:index': {
      get: (_req, _res, url) => {
        const index = url.pathname.slice('/api/proof/'.length);
        if (!/^\d{1,15}$/.test(index)) throw badRequest('index must be a decimal integer');
        return ledger().proof(Number(index));
      },
    },
    '/api/verify-token': {
      post: async (req) => {
        const options = need(o.tokens, 'token verifier');
        const { token } = await readJsonObject(req, MAX_TOKEN_BODY);
        if (typeof token !== 'string' || token.length === 0) {
          throw badRequest('body.token must be a non-empty string');
        }
        return inspectToken(token.trim(), { clock, ...options });
      },
    },
    '/api/policy': { get: () => (policyView ? policyView.info() : builtinPolicy()) },
    '/api/policy/reevaluate': {
      post: async (req) => {
        const p = policy();
        const { index } = await readJsonObject(req, MAX_TOKEN_BODY);
        if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 0)
          throw badRequest('body.index must be an entry index');
        const log = need(o.ledger, 'audit ledger');
        if (index >= log.size)
          throw new AdminApiError('ADMIN_NOT_FOUND', `no entry ${index} (log size ${log.size})`);
        return p.reevaluate(log, index, o.policy?.evalTimeoutMs);
      },
    },
    '/api/policy/eval': {
      post: async (req) => {
        const p = policy();
        const { input } = await readJsonObject(req, MAX_EVAL_BODY);
        if (!isJsonObject(input)) throw badRequest('body.input must be a JSON object');
        return { result: await p.evaluate(input) };
      },
    },
    '/api/policy/bundle': {
      post: async (req) => {
        const p = policy();
        if (
          !['application/gzip', 'application/x-gzip', 'application/octet-stream'].includes(mediaType(req))
        ) {
          throw new AdminApiError(
            'ADMIN_UNSUPPORTED_MEDIA_TYPE',
            'upload the bundle.tar.gz as application/gzip',
          );
        }
        const bytes = await readBody(req, MAX_BUNDLE_BODY);
        if (bytes.length === 0) throw badRequest('empty bundle');
        return p.upload(new Uint8Array(bytes));
      },
    },
    '/api/policy/compile': {
      post: async (req) => compileView(policyText(await readJsonObject(req, MAX_POLICY_TEXT))),
    },
    '/api/policy/replay': {
      post: async (req) => {
        const body = await readJsonObject(req, MAX_BUNDLE_BODY);
        const since = bodyTime(body, 'since');
        const until = bodyTime(body, 'until');
        if ((since ?? -Infinity) > (until ?? Infinity)) throw badRequest('since must not be after until');
        if (typeof body.bundle === 'string') {
          if (body.text !== undefined) throw badRequest('send body.text or body.bundle, not both');
          const bundle = Buffer.from(body.bundle, 'base64');
          if (bundle.length === 0) throw badRequest('body.bundle must be a base64 bundle.tar.gz');
          const sources = body.sources;
          if (
            sources !== undefined &&
            (!isJsonObject(sources) || !Object.values(sources).every((v) => typeof v === 'string'))
          )
            throw badRequest('body.sources must map .rego paths to their text');
          return nl().replay(
            { bundle: new Uint8Array(bundle), sources: sources as Record<string, string> | undefined },
            since,
            until,
          );
        }
        return nl().replay({ text: policyText(body) }, since, until);
      },
    },
    '/api/policy/activate': {
      post: async (req) => nl().activate(policyText(await readJsonObject(req, MAX_POLICY_TEXT))),
    },
  };

  function authenticate(req: IncomingMessage): AuthKind | undefined {
    const bearer = bearerOf(req);
    if (bearer !== undefined) return credentialMatches(bearer, token) ? 'bearer' : undefined;
    const cookie = cookieOf(req, SESSION_COOKIE);
    if (cookie !== undefined && sessions.valid(cookie)) return 'cookie';
    return undefined;
  }

  async function api(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    const auth = authenticate(req);
    if (!auth) throw new AdminApiError('ADMIN_UNAUTHORIZED', 'admin credential missing or wrong');
    // A cookie alone may only read (and log out): anything that changes state or sends secrets, logging in
    // included, needs the Bearer header.
    const logout = method === 'DELETE' && url.pathname === '/api/session';
    if (auth === 'cookie' && method !== 'GET' && method !== 'HEAD' && !logout) {
      throw new AdminApiError('ADMIN_BEARER_REQUIRED', 'this request needs the Authorization: Bearer header');
    }
    const path = /^\/api\/proof\/[^/]+$/.test(url.pathname) ? '/api/proof/:index' : url.pathname;
    const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (!route) throw new AdminApiError('ADMIN_NOT_FOUND', `no such endpoint ${url.pathname}`);
    const fn = Object.hasOwn(route, method.toLowerCase()) ? route[method.toLowerCase()] : undefined;
    const allowed = Object.keys(route).join(' or ').toUpperCase();
    if (!fn) throw new AdminApiError('ADMIN_METHOD_NOT_ALLOWED', `use ${allowed}`);
    const body = await fn(req, res, url);
    if (body !== undefined) sendJson(res, 200, body);
  }

  const handler = (req: IncomingMessage, res: ServerResponse): boolean => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://admin.invalid');
    } catch {
      return false;
    }
    if (url.pathname === '/api' || url.pathname.startsWith('/api/')) {
      api(req, res, url).catch((e: unknown) => sendError(res, e));
      return true;
    }
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') return false;
    return serveFile(url.pathname, method, res);
  };
  return Object.assign(handler, { close: () => streams.close() });
}

/** body.text: the English policy. */
function policyText(body: Record<string, unknown>): string {
  if (typeof body.text !== 'string' || body.text.trim() === '')
    throw badRequest('body.text must be policy text');
  return body.text;
}

/** body[name]: epoch ms (a number or its digits) or an ISO 8601 date (src/lib/parse-time.ts), if present. */
function bodyTime(body: Record<string, unknown>, name: string): number | undefined {
  const v = body[name];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  // Any other type is refused like a malformed string.
  return requireTimeMs(typeof v === 'string' ? v : '', `body.${name}`, badRequest);
}

/** The ledger query of `GET /api/decisions`: the indexed filters, paging and limit. */
function decisionFilter(q: URLSearchParams, f: AuditFilter): DecisionFilter {
  return {
    limit: qInt(q, 'limit', 1, MAX_LIMIT) ?? 100,
    task: f.task,
    agent: f.agent,
    decision: f.decision,
    since: f.since,
    until: f.until,
    before: qInt(q, 'before', 0, Number.MAX_SAFE_INTEGER),
    kind: f.kind,
  };
}

/** `GET /api/policy` when no bundle is configured: the built-in policy (allow what the chain allows) is in force. */
function builtinPolicy(): PolicyInfo {
  return {
    entrypoint: '',
    source: 'builtin',
    builtin: true,
    revision: 'builtin',
  };
}
