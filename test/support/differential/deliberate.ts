/**
 * The deliberate differences between SIGIL and opa-envoy-plugin: the ONLY normalisations the differential
 * comparison applies. Everything else must agree.
 *
 * This list implements the "Deliberate differences from opa-envoy-plugin" table of docs/policy.md §5 (issue
 * #19): each entry names the rows it implements. Rows 1 (token steps: the harness always sends a valid
 * token), 4 (`input.sigil`: no corpus policy reads it), 9 (the gRPC status message is not compared), 13
 * (time budget) and 14 (ledger) cannot show in a run and have no entry. An entry without a row there
 * is a bug. `compare.ts` applies them by id.
 */
import type { Case } from './generate.js';

/** One deliberate difference. */
export interface Deliberate {
  id: DeliberateId;
  /** The rows of docs/policy.md §5's table this entry implements. */
  rows: readonly number[];
  /** What SIGIL does differently, and why. */
  what: string;
}

/** Ids of the deliberate differences. */
export type DeliberateId =
  | 'sigil-headers'
  | 'token-stripped'
  | 'decision-id'
  | 'sigil-error-body'
  | 'deny-code-metadata'
  | 'error-answer'
  | 'input-error-message'
  | 'pre-policy-refusal'
  | 'replaced-bytes'
  | 'filtered-headers'
  | 'semver-opa-1.19';

/** The allow-list. */
export const DELIBERATE: readonly Deliberate[] = [
  {
    id: 'sigil-headers',
    rows: [5, 6, 8],
    what: 'SIGIL adds its own x-sigil-* headers (decision id, sub, task, depth, tool, receipt) upstream, downstream and on denies, and never lets a policy or client set or remove them',
  },
  {
    id: 'token-stripped',
    rows: [5],
    what: 'SIGIL removes the bearer token header (authz.token_header, default authorization) before the upstream (authz.strip_token)',
  },
  {
    id: 'decision-id',
    rows: [10, 12],
    what: "dynamic_metadata.decision_id is each system's own decision id; SIGIL sets one on every answer, the plugin not on its 400 for an unparsable request",
  },
  {
    id: 'sigil-error-body',
    rows: [7],
    what: "a deny whose policy gave no body carries SIGIL's JSON error body {error, code, decision_id} with content-type application/json; the plugin sends an empty body",
  },
  {
    id: 'deny-code-metadata',
    rows: [10],
    what: 'a SIGIL deny adds dynamic_metadata.code (its stable error code)',
  },
  {
    id: 'error-answer',
    rows: [11],
    what: 'where the plugin fails the Check RPC (evaluation error, malformed decision) and Envoy answers its status_on_error, SIGIL answers a deny itself with its error status and body; both deny',
  },
  {
    id: 'input-error-message',
    rows: [12],
    what: 'where the plugin answers 400 with its Go error text (request_parse_error: ...), SIGIL answers 400 with its JSON error body; the texts differ',
  },
  {
    id: 'pre-policy-refusal',
    rows: [2, 3],
    what: 'SIGIL refuses a request it cannot validate or inspect before its policy runs (AUTHZ_BAD_REQUEST, AUTHZ_BODY_*, AUTHZ_INVALID_ENCODING, AUTHZ_UNSUPPORTED_ENCODING), whatever the plugin answers; only when the request meets the condition the row states (prePolicyRefusal)',
  },
  {
    id: 'replaced-bytes',
    rows: [15],
    what: "where the request's path, query or form/multipart body has bytes that are not UTF-8, the plugin's json.marshal of them writes the escape \\ufffd and SIGIL's the character U+FFFD; and an allow of SIGIL's carrying U+FFFD then is a deny POLICY_RESULT_INVALID (the plugin fails the Check when it echoes the raw bytes)",
  },
  {
    id: 'filtered-headers',
    rows: [8],
    what: 'policy headers SIGIL does not send: a name that is not an RFC 9110 token or longer than 256 characters, a value with CR, LF or NUL or longer than 8 KiB, x-sigil-* and the token header (the plugin sends them as given)',
  },
  {
    id: 'semver-opa-1.19',
    rows: [16],
    what: "a version with a leading zero in a numeric identifier (01.2.3) or an empty pre-release or build identifier (1.2.3-) is not SemVer to SIGIL (OPA 1.22, SemVer 2.0.0 §2, §9, §10) and is to the plugin's embedded OPA 1.19; only the corpus's x-semver-* headers of a request whose x-version is such are set aside",
  },
];

/** Row 16: a numeric identifier with a leading zero (`01.2.3`, `1.2.3-01`) or an empty identifier (`1.2.3-`). */
export function semverNotStrict(c: Case): boolean {
  const v = c.headers['x-version'];
  return v !== undefined && (/(^v?|[.-])0\d/.test(v) || /[-+.]$|[-+.][-+.]/.test(v));
}

/** Row 8: whether SIGIL drops a policy header `name: value` (apply-policy.ts's rule, restated). */
export function headerFiltered(line: string, tokenHeader: string): boolean {
  const i = line.indexOf(': ');
  const name = line.slice(0, i).toLowerCase();
  const value = line.slice(i + 2);
  return (
    name.startsWith('x-sigil-') ||
    name === tokenHeader ||
    !/^[a-z0-9!#$%&'*+.^_`|~-]{1,256}$/.test(name) ||
    /[\r\n\0]/.test(value) ||
    value.length > 8192
  );
}

/** Row 15: a `%XX` run in the path or query, or form/multipart body bytes, that are not UTF-8. */
export function hasReplacedBytes(c: Case): boolean {
  const bytes = Buffer.from(
    c.path.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
    'latin1',
  );
  if (!isUtf8(bytes)) return true;
  const ct = (c.headers['content-type'] ?? '').toLowerCase();
  if (!ct.includes('form')) return false;
  const body = bodyBytes(c);
  const decoded = ct.includes('urlencoded')
    ? Buffer.from(
        body
          .toString('latin1')
          .replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
        'latin1',
      )
    : body;
  return !isUtf8(decoded);
}

/** Rows 2 and 3: a non-normalised path as the row lists it (dot segment, `//`, `%2F`, `%5C`, `%2E`, `\`, U+FFFD). */
function pathNotNormalised(fullPath: string): boolean {
  const path = fullPath.split(/[?#]/, 1)[0]!;
  if (path === '' || !path.startsWith('/')) return true;
  if (/%2[fFeE]|%5[cC]|\\|\uFFFD/.test(path)) return true;
  // Segments after the leading `/`: an empty one is a `//` (or a trailing `/` — allowed), `.`/`..` dot segments.
  const segs = path.slice(1).split('/');
  return segs.some((s, i) => s === '.' || s === '..' || (s === '' && i < segs.length - 1));
}

/** The body's bytes as SIGIL gets them: `raw_body` when set, else `body`. */
function bodyBytes(c: Case): Buffer {
  if (c.rawBody !== undefined && c.rawBody.length > 0) return Buffer.from(c.rawBody);
  return Buffer.from(c.body ?? '', 'utf8');
}

/** Row 3's "starts like JSON (or is sent as JSON)": first non-blank byte `{`/`[`, or a JSON media type. */
function jsonLike(c: Case, bytes: Buffer): boolean {
  const mt = (c.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (mt === 'application/json' || mt.endsWith('+json')) return true;
  const text = bytes.toString('latin1').replace(/^\uFEFF|^\xEF\xBB\xBF/, '');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: skipping controls is row 3's "first character".
  const first = text.match(/[^\s\x00-\x1f]/)?.[0];
  return first === '{' || first === '[';
}

/** Row 3's "truncated": Envoy's partial flag, or a `content-length` above the bytes sent. */
function truncated(c: Case, bytes: Buffer): boolean {
  const cl = c.headers['content-length'];
  return (
    c.headers['x-envoy-auth-partial-body'] === 'true' ||
    (cl !== undefined && /^\d{1,15}$/.test(cl) && Number(cl) > bytes.length)
  );
}

/** Row 3's "malformed": not JSON, or JSON-RPC-shaped (an object naming `jsonrpc`/`method`) and so checked as such. */
function jsonInvalidOrRpc(bytes: Buffer): boolean {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8').replace(/^\uFEFF/, ''));
  } catch {
    return true;
  }
  const isRpc = (m: unknown) =>
    typeof m === 'object' &&
    m !== null &&
    Object.keys(m).some((k) => ['jsonrpc', 'method'].includes(k.toLowerCase()));
  return Array.isArray(doc) ? doc.some(isRpc) : isRpc(doc);
}

/** Deepest `{`/`[` nesting outside strings. */
function nesting(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') max = Math.max(max, ++depth);
    else if (ch === '}' || ch === ']') depth--;
  }
  return max;
}

/** Rows 2 and 3's codes and their HTTP statuses (docs/authz.md §2). */
const REFUSAL_STATUS: Record<string, number> = {
  AUTHZ_BAD_REQUEST: 400,
  AUTHZ_BODY_TOO_LARGE: 413,
  AUTHZ_UNSUPPORTED_ENCODING: 415,
  AUTHZ_BODY_PARTIAL: 413,
  AUTHZ_INVALID_ENCODING: 400,
  AUTHZ_BODY_INVALID: 400,
  AUTHZ_BODY_TOO_DEEP: 400,
  AUTHZ_BODY_TOO_COMPLEX: 400,
};

/** `authz.max_body_bytes` of the harness's SIGIL (the config default). */
export const HARNESS_MAX_BODY_BYTES = 1024 * 1024;

/**
 * Rows 2 and 3: whether SIGIL's refusal with `code` before its policy is deliberate for request `c` — true
 * only when `c` really meets the condition the row states for that code, checked here from the request
 * itself (not by asking SIGIL). Anything else is a difference to report.
 */
export function prePolicyRefusal(c: Case, code: string, status: number): boolean {
  if (REFUSAL_STATUS[code] !== status) return false;
  const bytes = bodyBytes(c);
  const json = bytes.length > 0 && jsonLike(c, bytes);
  switch (code) {
    case 'AUTHZ_BAD_REQUEST':
      return !/^[A-Z]{1,32}$/.test(c.method) || c.path.length > 8192 || pathNotNormalised(c.path);
    case 'AUTHZ_BODY_TOO_LARGE':
      return bytes.length > HARNESS_MAX_BODY_BYTES;
    case 'AUTHZ_UNSUPPORTED_ENCODING': {
      const coded = (name: string, plain: string[]) =>
        (c.headers[name] ?? '')
          .split(',')
          .some((x) => x.trim() !== '' && !plain.includes(x.trim().toLowerCase()));
      return (
        bytes.length > 0 &&
        (coded('content-encoding', ['identity']) || coded('transfer-encoding', ['identity', 'chunked']))
      );
    }
    case 'AUTHZ_BODY_PARTIAL':
      // Also when nothing (or only blanks) arrived: what follows the cut may be a call.
      return truncated(c, bytes) && (json || bytes.toString('latin1').trim() === '');
    case 'AUTHZ_INVALID_ENCODING':
      return json && !isUtf8(bytes);
    case 'AUTHZ_BODY_INVALID':
      return json && jsonInvalidOrRpc(bytes);
    case 'AUTHZ_BODY_TOO_DEEP':
      return json && nesting(bytes.toString('latin1')) > 64;
    case 'AUTHZ_BODY_TOO_COMPLEX':
      return json && bytes.length > 100_000;
    default:
      return false;
  }
}

function isUtf8(b: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}
