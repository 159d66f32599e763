/**
 * Manual preview: `npx tsx test/dashboard/support/dev.ts` starts the test stack with the scenario and prints the
 * dashboard URL (with the admin token in the fragment). Ctrl-C stops it. Not part of the test run.
 */
import { testIdentity } from '../../support/identity.js';
import { runScenario } from './scenario.js';
import { startStack } from './stack.js';

const id = testIdentity();
const stack = await startStack(id);
const tokens = await runScenario(id, stack);
process.stdout.write(`${stack.adminUrl}/#token=${stack.adminToken}\n`);
process.stdout.write(`verifier key: ${stack.log.verifierKey}\n`);
process.stdout.write(`forged: ${tokens.forgedWidening}\n`);
const stop = async () => {
  await stack.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
