/**
 * Turns the two CheckResponses of one request into comparable outcomes and lists where they disagree, after
 * the deliberate differences of deliberate.ts (and only those) are normalised away. Each disagreement gets a
 * short class ("decision: plugin=deny 400 sigil=allow", "headers: x-t-time", …) so a run can be summarised.
 */
import type { HeaderValueOption } from '../../../gen/envoy/config/core/v3/base_pb.js';
import type { CheckResponse } from '../../../gen/envoy/service/auth/v3/external_auth_pb.js';
import {
  type DeliberateId,
  hasReplacedBytes,
  headerFiltered,
  prePolicyRefusal,
  semverNotStrict,
} from './deliberate.js';
import type { Case } from './generate.js';

/** What a response does, in comparable form (lists sorted: the plugin builds them from Go maps). */
export interface Outcome {
  /** `error`: the Check RPC failed (Envoy then answers its status_on_error). */
  kind: 'allow' | 'deny' | 'error';
  /** HTTP status of a deny; 200 for an allow; 0 for an error. */
  status: number;
  /** google.rpc.Status message (SIGIL: its error code; plugin: an error text) or the RPC error. */
  message: string;
  /** Upstream headers (allow) or headers of the denied response, `key: value`. */
  headers: string[];
  /** `key: action` of upstream headers (allow): append vs overwrite. */
  headerActions: string[];
  headersToRemove: string[];
  responseHeadersToAdd: string[];
  queryToSet: string[];
  queryToRemove: string[];
  body: string;
  /** dynamic_metadata as canonical JSON. */
  metadata: Record<string, unknown>;
}

/** One field that differs. */
export interface FieldDiff {
  field: string;
  plugin: unknown;
  sigil: unknown;
}

const ACTIONS = ['append', 'add-if-absent', 'overwrite', 'overwrite-if-exists'];

/** Envoy's effective action: the deprecated `append` when set, else `append_action` (base.proto HeaderValueOption). */
function action(h: HeaderValueOption): string {
  if (h.append !== undefined) return h.append ? 'append' : 'overwrite';
  return ACTIONS[h.appendAction] ?? String(h.appendAction);
}

const kv = (hs: HeaderValueOption[]) =>
  hs.map((h) => `${h.header?.key ?? ''}: ${h.header?.value ?? ''}`).sort();

/** The outcome of a CheckResponse, or of a failed RPC. */
export function outcomeOf(res: CheckResponse | Error): Outcome {
  const empty = {
    headers: [],
    headerActions: [],
    headersToRemove: [],
    responseHeadersToAdd: [],
    queryToSet: [],
    queryToRemove: [],
    body: '',
    metadata: {},
  };
  if (res instanceof Error) return { kind: 'error', status: 0, message: res.message, ...empty };
  const metadata = (res.dynamicMetadata ?? {}) as Record<string, unknown>;
  const message = res.status?.message ?? '';
  if (res.httpResponse.case === 'okResponse' && (res.status?.code ?? 0) === 0) {
    const ok = res.httpResponse.value;
    return {
      kind: 'allow',
      status: 200,
      message,
      headers: kv(ok.headers),
      headerActions: ok.headers.map((h) => `${h.header?.key}: ${action(h)}`).sort(),
      headersToRemove: [...ok.headersToRemove].sort(),
      responseHeadersToAdd: kv(ok.responseHeadersToAdd),
      queryToSet: ok.queryParametersToSet.map((q) => `${q.key}=${q.value}`).sort(),
      queryToRemove: [...ok.queryParametersToRemove].sort(),
      body: '',
      metadata,
    };
  }
  if (res.httpResponse.case === 'deniedResponse') {
    const d = res.httpResponse.value;
    return {
      ...empty,
      kind: 'deny',
      status: d.status?.code ?? 0,
      message,
      headers: kv(d.headers),
      body: d.body,
      metadata,
    };
  }
  // OK status without an OkHttpResponse, or a non-OK status without a DeniedHttpResponse: Envoy treats
  // a non-OK status as a deny with 403 (ext_authz filter); a bare OK is an allow with nothing to apply.
  return (res.status?.code ?? 0) === 0
    ? { ...empty, kind: 'allow', status: 200, message, metadata }
    : { ...empty, kind: 'deny', status: 403, message, metadata };
}

const isSigilHeader = (line: string) => line.startsWith('x-sigil-');

/** SIGIL's own JSON error body `{error, code, decision_id}`. */
function isSigilErrorBody(body: string): boolean {
  try {
    const o = JSON.parse(body) as Record<string, unknown>;
    return typeof o.code === 'string' && typeof o.decision_id === 'string' && typeof o.error === 'string';
  } catch {
    return false;
  }
}

/** The comparison of one request: differing fields and the deliberate differences that were applied. */
export interface Comparison {
  diffs: FieldDiff[];
  excused: DeliberateId[];
}

/**
 * Compares the plugin's and SIGIL's outcomes for the same request. With `request`, a SIGIL refusal before its
 * policy (rows 2 and 3) is excused when the request meets that row's condition; without it, never.
 */
export function compareOutcomes(
  plugin: Outcome,
  sigil: Outcome,
  tokenHeader = 'authorization',
  request?: Case,
): Comparison {
  // pre-policy-refusal: SIGIL's policy never ran, so nothing else of its answer is comparable.
  if (request && sigil.kind === 'deny' && prePolicyRefusal(request, sigil.message, sigil.status)) {
    return { diffs: [], excused: ['pre-policy-refusal'] };
  }
  const excused = new Set<DeliberateId>();
  const s: Outcome = { ...sigil };
  const p: Outcome = { ...plugin };
  const drop = (xs: string[], pred: (x: string) => boolean, id: DeliberateId) =>
    xs.filter((x) => {
      if (!pred(x)) return true;
      excused.add(id);
      return false;
    });

  // sigil-headers: x-sigil-* anywhere in SIGIL's answer.
  s.headers = drop(s.headers, isSigilHeader, 'sigil-headers');
  s.headerActions = drop(s.headerActions, isSigilHeader, 'sigil-headers');
  s.responseHeadersToAdd = drop(s.responseHeadersToAdd, isSigilHeader, 'sigil-headers');
  s.headersToRemove = drop(s.headersToRemove, isSigilHeader, 'sigil-headers');
  // token-stripped: SIGIL removes the token header on every allow.
  s.headersToRemove = drop(s.headersToRemove, (h) => h === tokenHeader, 'token-stripped');
  // decision-id: each system's own id.
  const pm = { ...p.metadata };
  const sm = { ...s.metadata };
  // (The plugin has none when it answers 400 before evaluating: internal.go returns before adding it.)
  if ('decision_id' in sm) excused.add('decision-id');
  delete pm.decision_id;
  delete sm.decision_id;
  // deny-code-metadata: SIGIL's stable code on denies.
  if (s.kind === 'deny' && 'code' in sm && !('code' in pm)) {
    delete sm.code;
    excused.add('deny-code-metadata');
  }
  p.metadata = pm;
  s.metadata = sm;
  // filtered-headers: the plugin's policy headers SIGIL refuses to send (names/values Envoy may reject).
  if (p.kind === 'allow') {
    const gone = new Set(
      p.headers.filter((x) => headerFiltered(x, tokenHeader)).map((x) => x.split(': ')[0]),
    );
    p.headers = drop(p.headers, (x) => headerFiltered(x, tokenHeader), 'filtered-headers');
    p.headerActions = p.headerActions.filter((x) => !gone.has(x.split(': ')[0]));
    p.responseHeadersToAdd = drop(
      p.responseHeadersToAdd,
      (x) => headerFiltered(x, tokenHeader),
      'filtered-headers',
    );
  } else if (p.kind === 'deny') {
    p.headers = drop(p.headers, (x) => headerFiltered(x, tokenHeader), 'filtered-headers');
  }
  if (request && hasReplacedBytes(request)) {
    const escaped = JSON.stringify(p).includes('\\\\ufffd');
    if (s.kind === 'deny' && s.message === 'POLICY_RESULT_INVALID' && p.kind === 'allow' && escaped) {
      // replaced-bytes: SIGIL cannot tell an echo of the raw bytes (the plugin fails) from a json.marshal of them.
      return { diffs: [], excused: [...excused, 'replaced-bytes'] };
    }
    // replaced-bytes: the same text once the plugin's raw bytes and SIGIL's U+FFFD are both read as SIGIL reads
    // them (json.marshal's \ufffd escape, a urlquery encoding of the byte or of U+FFFD).
    const before = JSON.stringify([p, s]);
    for (const o of [p, s]) {
      o.headers = o.headers.map(asReplaced);
      o.responseHeadersToAdd = o.responseHeadersToAdd.map(asReplaced);
      o.queryToSet = o.queryToSet.map(asReplaced);
      o.body = asReplaced(o.body);
      o.metadata = JSON.parse(asReplaced(JSON.stringify(o.metadata).replaceAll('\\\\ufffd', '\\ufffd')));
    }
    if (JSON.stringify([p, s]) !== before) excused.add('replaced-bytes');
  }

  if (request && semverNotStrict(request)) {
    // semver-opa-1.19: OPA 1.19 (the plugin) and 1.22 (SIGIL) disagree on what is a version.
    const semver = (x: string) => x.startsWith('x-semver-');
    for (const o of [p, s]) {
      o.headers = drop(o.headers, semver, 'semver-opa-1.19');
      o.headerActions = drop(o.headerActions, semver, 'semver-opa-1.19');
    }
  }
  const diffs: FieldDiff[] = [];
  const field = (name: string, a: unknown, b: unknown) => {
    if (JSON.stringify(a) !== JSON.stringify(b)) diffs.push({ field: name, plugin: a, sigil: b });
  };

  if (p.kind === 'error') {
    // error-answer: both must deny; SIGIL's status, headers, body and metadata are its own.
    if (s.kind !== 'deny') diffs.push({ field: 'decision', plugin: describe(p), sigil: describe(s) });
    else excused.add('error-answer');
    return { diffs, excused: [...excused] };
  }
  const inputError = p.kind === 'deny' && p.status === 400 && p.body.startsWith('request_parse_error:');
  if (s.kind === 'deny' && isSigilErrorBody(s.body) && (p.body === '' || inputError)) {
    // sigil-error-body / input-error-message: SIGIL's JSON explanation instead of the plugin's (empty or Go) text.
    s.body = p.body;
    s.headers = s.headers.filter((h) => h !== 'content-type: application/json');
    excused.add(inputError ? 'input-error-message' : 'sigil-error-body');
  }

  field('decision', describe(p), describe(s));
  field('headers', p.headers, s.headers);
  field('header_actions', p.headerActions, s.headerActions);
  field('headers_to_remove', p.headersToRemove, s.headersToRemove);
  field('response_headers_to_add', p.responseHeadersToAdd, s.responseHeadersToAdd);
  field('query_parameters_to_set', p.queryToSet, s.queryToSet);
  field('query_parameters_to_remove', p.queryToRemove, s.queryToRemove);
  field('body', p.body, s.body);
  field('dynamic_metadata', canonical(p.metadata), canonical(s.metadata));
  return { diffs, excused: [...excused] };
}

/** Row 15's reading: `\ufffd` escapes as U+FFFD, runs of %XX escapes decoded as UTF-8 with U+FFFD per bad byte. */
function asReplaced(x: string): string {
  return x.replaceAll('\\ufffd', '\uFFFD').replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) =>
    Buffer.from(run.replace(/%/g, ''), 'hex')
      .toString('utf8')
      .replace(/[^\uFFFD]+/g, (ok) =>
        encodeURIComponent(ok).replace(/%[0-9a-f]{2}/g, (e) => e.toUpperCase()),
      ),
  );
}

function describe(o: Outcome): string {
  if (o.kind === 'allow') return 'allow';
  if (o.kind === 'error') return 'error';
  return `deny ${o.status}`;
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

/** Names of the keys two `key: value` (or `key=value`) lists disagree on. */
function keysDiffering(a: unknown, b: unknown): string {
  const as = new Set(a as string[]);
  const bs = new Set(b as string[]);
  const keys = new Set<string>();
  for (const x of [...as].filter((x) => !bs.has(x)).concat([...bs].filter((x) => !as.has(x)))) {
    keys.add(x.split(/: |=/)[0]!);
  }
  const list = [...keys].sort();
  return list.length > 4 ? `${list.slice(0, 4).join(',')},…` : list.join(',');
}

/** ` (why)` from SIGIL's JSON error body, for classes: the same code covers several causes. */
function sigilReason(body: string): string {
  if (!isSigilErrorBody(body)) return '';
  const why = String((JSON.parse(body) as { error: string }).error).replace(/"[^"]*"/g, '"…"');
  return ` (${why.length > 70 ? `${why.slice(0, 70)}…` : why})`;
}

/**
 * The classes of one request's differences, for the summary: short and stable across runs. When the decision
 * differs, the rest (headers, body, metadata) follows from it and is not counted separately.
 */
export function classesOf(diffs: FieldDiff[], plugin: Outcome, sigil: Outcome): string[] {
  const decision = diffs.find((d) => d.field === 'decision');
  if (decision) {
    const c = classOf(decision, sigil);
    return [
      plugin.body.startsWith('request_parse_error:')
        ? c.replace(/plugin=deny 400/, '$& (request_parse_error)')
        : c,
    ];
  }
  const parseError = plugin.body.startsWith('request_parse_error:');
  if (sigil.kind === 'deny' && sigil.message.startsWith('AUTHZ_') && !parseError) {
    // Same status by coincidence: SIGIL refused the request before its policy ran, the plugin's policy answered.
    return [
      `decision: plugin=deny ${plugin.status} (policy) sigil=deny ${sigil.status} ${sigil.message}${sigilReason(sigil.body)}`,
    ];
  }
  if (parseError && diffs.some((d) => d.field === 'body')) {
    // The plugin refused an unparsable request (400); SIGIL evaluated the policy, which happened to say 400 too.
    return [`decision: plugin=deny 400 (request_parse_error) sigil=deny ${sigil.status} (policy)`];
  }
  return [...new Set(diffs.map((d) => classOf(d, sigil)))];
}

/** The class of one field difference. */
export function classOf(d: FieldDiff, sigil: Outcome): string {
  switch (d.field) {
    case 'decision': {
      const failOpen = d.sigil === 'allow' && d.plugin !== 'allow' ? 'FAIL-OPEN ' : '';
      const code = sigil.kind === 'deny' ? ` ${sigil.message}${sigilReason(sigil.body)}` : '';
      return `${failOpen}decision: plugin=${d.plugin} sigil=${d.sigil}${code}`;
    }
    case 'body':
    case 'header_actions':
      return d.field === 'body' ? 'body' : `header_actions: ${keysDiffering(d.plugin, d.sigil)}`;
    case 'dynamic_metadata': {
      const a = d.plugin as Record<string, unknown>;
      const b = d.sigil as Record<string, unknown>;
      const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])]
        .filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
        .sort();
      return `dynamic_metadata: ${keys.join(',')}`;
    }
    default:
      return `${d.field}: ${keysDiffering(d.plugin, d.sigil)}`;
  }
}
