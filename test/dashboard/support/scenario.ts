/**
 * The scripted scenario every dashboard test sees: one task, a planner that delegates narrowed scopes to a
 * researcher and a writer, the writer re-delegating read-only to a reviewer; allowed and denied calls; and a
 * forged hop that widens the scope (signed with the real holder key).
 */
import { agentId, type TestIdentity } from '../../support/identity.js';
import { forgeChild } from './forge.js';
import type { Stack } from './stack.js';

/** The task id of the scenario. */
export const TASK = 'task-quarterly-report';
/** The scenario's agents. */
export const AGENTS = {
  planner: agentId('planner'),
  researcher: agentId('researcher'),
  writer: agentId('writer'),
  reviewer: agentId('reviewer'),
  intruder: agentId('intruder'),
} as const;

/** Tokens the tests reuse. */
export interface ScenarioTokens {
  planner: string;
  researcher: string;
  writer: string;
  reviewer: string;
  /** reviewer's chain plus a hop claiming `fs.*` (wider than `fs.read`). */
  forgedWidening: string;
}

/** Mints and delegates the chains and sends the scenario's Check requests. */
export async function runScenario(id: TestIdentity, stack: Stack): Promise<ScenarioTokens> {
  const planner = id.mint({ sub: AGENTS.planner, task: TASK, scope: ['fs.*', 'web.search'], ttl: 300 });
  const researcher = id.delegate(planner.token, planner.holder, AGENTS.researcher, ['web.search']);
  const writer = id.delegate(planner.token, planner.holder, AGENTS.writer, ['fs.read', 'fs.write']);
  const reviewer = id.delegate(writer.token, writer.holder, AGENTS.reviewer, ['fs.read']);
  const forgedWidening = forgeChild(reviewer.token, reviewer.holder, AGENTS.intruder, ['fs.*']);

  const calls: [string | undefined, string][] = [
    [planner.token, 'fs.list'],
    [researcher.token, 'web.search'],
    [researcher.token, 'web.search'],
    [writer.token, 'fs.write'],
    [reviewer.token, 'fs.read'],
    [reviewer.token, 'fs.write'], // out of scope → deny
    [researcher.token, 'fs.read'], // out of scope → deny
    [forgedWidening, 'fs.delete'], // forged widening → deny TBIT_SCOPE_WIDENED
    [undefined, 'fs.read'], // no token → deny, no task
  ];
  for (const [token, tool] of calls) await stack.check(token, tool);
  return {
    planner: planner.token,
    researcher: researcher.token,
    writer: writer.token,
    reviewer: reviewer.token,
    forgedWidening,
  };
}
