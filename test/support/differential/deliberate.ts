/**
 * The deliberate differences between SIGIL and opa-envoy-plugin: the ONLY normalisations the differential
 * comparison applies. Everything else must agree.
 *
 * This list is meant to mirror the "Deliberate differences from opa-envoy-plugin" table of docs/policy.md
 * (issue #19). When that table exists, keep the two in step: an entry here without a row there, or a row
 * there without an entry here, is a bug. Each entry names what it excuses; `compare.ts` applies them by id.
 */

/** One deliberate difference. */
export interface Deliberate {
  id: DeliberateId;
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
  | 'input-error-message';

/** The allow-list. */
export const DELIBERATE: readonly Deliberate[] = [
  {
    id: 'sigil-headers',
    what: 'SIGIL adds its own x-sigil-* headers (decision id, sub, task, depth, tool, receipt) upstream, downstream and on denies, and never lets a policy or client set or remove them',
  },
  {
    id: 'token-stripped',
    what: 'SIGIL removes the bearer token header (authz.token_header, default authorization) before the upstream (authz.strip_token)',
  },
  {
    id: 'decision-id',
    what: "dynamic_metadata.decision_id is each system's own decision id; SIGIL sets one on every answer, the plugin not on its 400 for an unparsable request",
  },
  {
    id: 'sigil-error-body',
    what: "a deny whose policy gave no body carries SIGIL's JSON error body {error, code, decision_id} with content-type application/json; the plugin sends an empty body",
  },
  {
    id: 'deny-code-metadata',
    what: 'a SIGIL deny adds dynamic_metadata.code (its stable error code)',
  },
  {
    id: 'error-answer',
    what: 'where the plugin fails the Check RPC (evaluation error, malformed decision) and Envoy answers its status_on_error, SIGIL answers a deny itself with its error status and body; both deny',
  },
  {
    id: 'input-error-message',
    what: 'where the plugin answers 400 with its Go error text (request_parse_error: ...), SIGIL answers 400 with its JSON error body; the texts differ',
  },
];
