/**
 * Manual preview: `npx tsx test/dashboard/support/dev.ts` starts the test stack with the scenario and prints the
 * dashboard URL (admin token in the fragment) and the verifier key. Ctrl-C stops it. Not part of the test run.
 */
import { runScenario } from './scenario.js';
import { startStack } from './stack.js';

const stack = await startStack();
const { tokens, statuses } = await runScenario(stack);
process.stdout.write(`${stack.adminUrl}/#token=${stack.adminToken}\n`);
process.stdout.write(`verifier key: ${stack.verifierKey}\n`);
process.stdout.write(`forged: ${tokens.forgedWidening}\n`);
process.stdout.write(`statuses ${statuses.join(' ')}\n`);
const stop = async () => {
  await stack.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
