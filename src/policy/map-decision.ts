/**
 * Maps a policy decision onto the CheckResponse fields, with opa-envoy-plugin's rules (envoyauth/response.go and
 * internal/internal.go `check`):
 * - a boolean decision is the answer; an object needs a boolean `allowed`; anything else is invalid;
 * - `headers`: object of string → string | string[], or an array of such objects; sent upstream on allow and in
 *   the denied response on deny;
 * - allow only: `request_headers_to_remove` / `query_parameters_to_remove` (string arrays),
 *   `response_headers_to_add`, `query_parameters_to_set` (object of string → string | string[]);
 * - deny only: `body` (string), `http_status` (a status both Go's http.StatusText and Envoy's StatusCode enum
 *   know, 200 and 302 included; default 403);
 * - `dynamic_metadata`: object, either decision.
 * An invalid decision is an error there (Envoy then denies); here it is a deny with POLICY_RESULT_INVALID.
 */
import type { HeaderEntry, PolicyVerdict } from './api.js';
import { PolicyError } from './errors.js';
import { NumberText } from './lib/number-text.js';

/**
 * Codes of envoy.type.v3.StatusCode (proto/envoy/type/v3/http_status.proto; go-control-plane v1.40.0 has the
 * same), all of which Go's http.StatusText also names: the statuses GetResponseEnvoyHTTPStatus accepts.
 */
const ENVOY_STATUS_CODES: ReadonlySet<number> = new Set([
  100, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 307, 308, 400, 401,
  402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 421, 422, 423, 424, 426,
  428, 429, 431, 500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511,
]);

const bad = (msg: string) => new PolicyError('POLICY_RESULT_INVALID', `policy decision: ${msg}`);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function headerMap(m: Record<string, unknown>, field: string, out: HeaderEntry[]): void {
  for (const [key, value] of Object.entries(m)) {
    if (typeof value === 'string') out.push({ key, value });
    else if (Array.isArray(value)) {
      for (const v of value) {
        if (typeof v !== 'string') throw bad(`${field}: invalid value type for header '${key}'`);
        out.push({ key, value: v });
      }
    } else throw bad(`${field}: header '${key}' must be a string or an array of strings`);
  }
}

function headers(d: Record<string, unknown>, field: string): HeaderEntry[] {
  const v = d[field];
  const out: HeaderEntry[] = [];
  if (v === undefined) return out;
  if (Array.isArray(v)) {
    for (const m of v) {
      if (!isObject(m)) throw bad(`${field} entries must be objects`);
      headerMap(m, field, out);
    }
  } else if (isObject(v)) headerMap(v, field, out);
  else throw bad(`${field} must be an object or an array of objects`);
  return out;
}

/** `query_parameters_to_set`: {name: value | [values]} → (key, value) pairs (GetRequestQueryParametersToSet). */
function queryToSet(d: Record<string, unknown>): HeaderEntry[] {
  const v = d.query_parameters_to_set;
  if (v === undefined) return [];
  if (!isObject(v)) throw bad('query_parameters_to_set must be an object');
  const out: HeaderEntry[] = [];
  for (const [key, value] of Object.entries(v)) {
    if (typeof value === 'string') out.push({ key, value });
    else if (Array.isArray(value)) {
      for (const x of value) {
        if (typeof x !== 'string')
          throw bad(`query_parameters_to_set: '${key}' array elements must be strings`);
        out.push({ key, value: x });
      }
    } else throw bad(`query_parameters_to_set: '${key}' must be a string or an array of strings`);
  }
  return out;
}

function strings(d: Record<string, unknown>, field: string): string[] {
  const v = d[field];
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
    throw bad(`${field} must be an array of strings`);
  return v as string[];
}

/** Deny verdict for a failure (fail closed). Envoy answers ext_authz errors with 403 by default (`status_on_error`). */
export function failureVerdict(err: PolicyError, revision: string, evalUs = 0): PolicyVerdict {
  return {
    allowed: false,
    code: err.code,
    httpStatus: err.code === 'POLICY_INPUT_INVALID' ? 400 : 403,
    headers: [],
    responseHeadersToAdd: [],
    requestHeadersToRemove: [],
    queryParametersToRemove: [],
    queryParametersToSet: [],
    revision,
    evalUs,
    message: err.message,
  };
}

/**
 * Maps a decision value (the entrypoint's `result`) to a verdict. Throws POLICY_RESULT_INVALID when the decision
 * is malformed; callers turn that into {@link failureVerdict}.
 */
export function mapDecision(decision: unknown, revision: string, evalUs: number): PolicyVerdict {
  const base = {
    headers: [] as HeaderEntry[],
    responseHeadersToAdd: [] as HeaderEntry[],
    requestHeadersToRemove: [] as string[],
    queryParametersToRemove: [] as string[],
    queryParametersToSet: [] as HeaderEntry[],
    revision,
    evalUs,
    decision,
  };
  if (typeof decision === 'boolean') {
    return decision
      ? { ...base, allowed: true, code: 'OK', httpStatus: 200 }
      : { ...base, allowed: false, code: 'POLICY_DENIED', httpStatus: 403 };
  }
  if (!isObject(decision))
    throw bad(
      `illegal value for policy evaluation result: ${decision === null ? 'null' : Array.isArray(decision) ? 'array' : typeof decision}`,
    );
  if (!('allowed' in decision))
    throw bad('unable to determine evaluation result due to missing "allowed" key');
  const allowed = decision.allowed;
  if (typeof allowed !== 'boolean') throw bad("expected allowed to be of type 'boolean'");
  const v: PolicyVerdict = {
    ...base,
    allowed,
    code: allowed ? 'OK' : 'POLICY_DENIED',
    httpStatus: allowed ? 200 : 403,
  };
  v.headers = headers(decision, 'headers');
  if (decision.dynamic_metadata !== undefined) {
    if (!isObject(decision.dynamic_metadata)) throw bad("expected dynamic_metadata to be of type 'object'");
    v.dynamicMetadata = decision.dynamic_metadata;
  }
  if (allowed) {
    v.requestHeadersToRemove = strings(decision, 'request_headers_to_remove');
    v.responseHeadersToAdd = headers(decision, 'response_headers_to_add');
    v.queryParametersToRemove = strings(decision, 'query_parameters_to_remove');
    v.queryParametersToSet = queryToSet(decision);
    return v;
  }
  if (decision.body !== undefined) {
    if (typeof decision.body !== 'string') throw bad("expected body to be of type 'string'");
    v.body = decision.body;
  }
  if (decision.http_status !== undefined) {
    const s = decision.http_status;
    if (typeof s !== 'number' && !(s instanceof NumberText))
      throw bad("expected http_status to be of type 'number'");
    // json.Number.Int64 (strconv.ParseInt): `403.0` or `4.03e2` is not an integer to the plugin.
    if (s instanceof NumberText || !Number.isInteger(s))
      throw bad(`error converting JSON number to int: ${s instanceof NumberText ? s.text : s}`);
    if (!ENVOY_STATUS_CODES.has(s)) throw bad(`invalid HTTP status code ${s}`);
    v.httpStatus = s;
  }
  return v;
}
