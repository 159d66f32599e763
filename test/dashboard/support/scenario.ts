/**
 * The scripted scenario every dashboard test sees: one task; a planner (root holder) delegates narrowed scopes to
 * a researcher and a writer; the writer re-delegates read-only to a reviewer; allowed and denied calls go through
 * Envoy; and a forged hop that widens the reviewer's scope, correctly signed with the reviewer's real holder key.
 */

import { generateEd25519 } from '../../../src/lib/ed25519-key.js';
import { publicJwkOf } from '../../../src/token/index.js';
import type { KeyPair } from '../../support/identity.js';
import { forgeChild } from './forge.js';
import type { Stack } from './stack.js';

/** The task id of the scenario. */
export const TASK = 'task-quarterly-report';
/** A second, unrelated task (for the task filter). */
export const TASK2 = 'task-incident-triage';
const id = (n: string) => `spiffe://sigil.mesh/agent/${n}/1`;
/** The scenario's agents. */
export const AGENTS = {
  planner: id('planner'),
  researcher: id('researcher'),
  writer: id('writer'),
  reviewer: id('reviewer'),
  intruder: id('intruder'),
  triage: id('triage'),
} as const;

/** Tokens the tests reuse. */
export interface ScenarioTokens {
  planner: string;
  researcher: string;
  writer: string;
  reviewer: string;
  /** The reviewer's chain plus a hop claiming `fs.*` (wider than its `fs.read`), signed by the reviewer's key. */
  forgedWidening: string;
}

/** What the scenario's calls returned (HTTP status through Envoy), in order. */
export interface ScenarioResult {
  tokens: ScenarioTokens;
  statuses: number[];
}

function keyPair(): KeyPair {
  const { privateKey, publicKey } = generateEd25519();
  return { priv: privateKey, pub: publicKey, jwk: publicJwkOf(publicKey) };
}

/** Mints (operator) and delegates (sidecar-held keys) the chains, then sends the calls through Envoy. */
export async function runScenario(stack: Stack): Promise<ScenarioResult> {
  const { service, stores, operator } = stack.issuer;
  for (const a of [AGENTS.planner, AGENTS.writer]) stores.keys.agents.ensure(a);
  const reviewerKey = keyPair();
  const planner = service.mint(
    { sub: AGENTS.planner, task_id: TASK, tool_scope: ['fs.*', 'web.search'], ttl: 300 },
    operator,
  ).token;
  const researcher = service.delegate({
    token: planner,
    to: AGENTS.researcher,
    tool_scope: ['web.search'],
  }).token;
  const writer = service.delegate({
    token: planner,
    to: AGENTS.writer,
    tool_scope: ['fs.read', 'fs.write'],
  }).token;
  const reviewer = service.delegate({
    token: writer,
    to: AGENTS.reviewer,
    tool_scope: ['fs.read'],
    to_key: reviewerKey.jwk,
  }).token;
  const forgedWidening = forgeChild(reviewer, reviewerKey, AGENTS.intruder, ['fs.*']);
  const triage = service.mint(
    { sub: AGENTS.triage, task_id: TASK2, tool_scope: ['tickets.read'], ttl: 300 },
    operator,
  ).token;

  const calls: [string | undefined, string][] = [
    [planner, 'fs.list'],
    [researcher, 'web.search'],
    [researcher, 'web.search'],
    [writer, 'fs.write'],
    [reviewer, 'fs.read'],
    [reviewer, 'fs.write'], // out of scope → 403
    [researcher, 'fs.read'], // out of scope → 403
    [forgedWidening, 'fs.delete'], // forged widening → 401 TBIT_SCOPE_WIDENED
    [undefined, 'fs.read'], // no token → 401
    [triage, 'tickets.read'],
  ];
  const statuses: number[] = [];
  for (const [token, tool] of calls) statuses.push(await stack.call(token, tool));
  return { tokens: { planner, researcher, writer, reviewer, forgedWidening }, statuses };
}
