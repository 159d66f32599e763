/** Small HTTP helpers for the admin API: JSON answers with safe headers, bounded body reads, query parsing. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SigilError } from '../../../lib/errors.js';
import { requireTimeMs } from '../../../lib/parse-time.js';
import { AdminApiError, badRequest } from '../errors.js';

/** Headers on every API answer: never cached, never sniffed, never framed. */
export const API_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/** Sends a JSON body (`headers` add to or override the defaults). */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers = {}): void {
  const text = JSON.stringify(body);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    ...API_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

/**
 * Sends an error as `{error, code}`. SigilErrors from other modules keep their own code and HTTP status (so the
 * dashboard shows e.g. POLICY_BUNDLE_INVALID); anything else becomes ADMIN_INTERNAL with no internals leaked.
 */
export function sendError(res: ServerResponse, e: unknown): void {
  const err = e instanceof SigilError ? e : new AdminApiError('ADMIN_INTERNAL', 'internal error');
  const extra: Record<string, string> =
    err.httpStatus === 401
      ? { 'www-authenticate': 'Bearer realm="sigil-admin"' }
      : err.httpStatus === 413
        ? { connection: 'close' }
        : {};
  sendJson(res, err.httpStatus, err.toJSON(), extra);
}

/** Reads the request body up to `limit` bytes; larger bodies fail with ADMIN_BODY_TOO_LARGE without buffering them. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    throw new AdminApiError('ADMIN_BODY_TOO_LARGE', `body larger than ${limit} bytes`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    total += b.length;
    if (total > limit) {
      // Stop buffering but let the 413 go out; Node closes the connection after it since the body is unread.
      req.pause();
      throw new AdminApiError('ADMIN_BODY_TOO_LARGE', `body larger than ${limit} bytes`);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** The request's media type: `content-type` without parameters, lower-cased ('' when absent). */
export function mediaType(req: IncomingMessage): string {
  return String(req.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
}

/** Reads and parses a JSON object body (content-type must be JSON). */
export async function readJsonObject(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  if (mediaType(req) !== 'application/json') {
    throw new AdminApiError('ADMIN_UNSUPPORTED_MEDIA_TYPE', 'content-type must be application/json');
  }
  const raw = await readBody(req, limit);
  let doc: unknown;
  try {
    doc = JSON.parse(raw.toString('utf8'));
  } catch {
    throw badRequest('body is not valid JSON');
  }
  if (!isJsonObject(doc)) throw badRequest('body must be a JSON object');
  return doc;
}

/** True for a JSON object (not null, not an array). */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Optional string query parameter of at most `max` characters. */
export function qString(q: URLSearchParams, name: string, max = 2048): string | undefined {
  const all = q.getAll(name);
  if (all.length === 0 || all[0] === '') return undefined;
  if (all.length > 1) throw badRequest(`query parameter ${name} given more than once`);
  const v = all[0]!;
  if (v.length > max) throw badRequest(`query parameter ${name} longer than ${max}`);
  return v;
}

/** Optional non-negative integer query parameter within [min, max]. */
export function qInt(q: URLSearchParams, name: string, min: number, max: number): number | undefined {
  const v = qString(q, name, 20);
  if (v === undefined) return undefined;
  if (!/^\d{1,16}$/.test(v)) throw badRequest(`query parameter ${name} must be an integer`);
  const n = Number(v);
  if (n < min || n > max) throw badRequest(`query parameter ${name} must be in [${min}, ${max}]`);
  return n;
}

/** Optional time query parameter: epoch ms or an ISO 8601 date (src/lib/parse-time.ts). Returns epoch ms. */
export function qTime(q: URLSearchParams, name: string): number | undefined {
  const v = qString(q, name, 40);
  return v === undefined ? undefined : requireTimeMs(v, `query parameter ${name}`, badRequest);
}
