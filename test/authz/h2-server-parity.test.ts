/**
 * Every case of the gRPC server suite (server.test.ts) against the h2 transport: the suite's module graph gets
 * startH2AuthzServer in place of the grpc-js startAuthzServer (a real server swapped for the other real server,
 * not a mock), and its describe blocks are registered here by importing it.
 */
import { vi } from 'vitest';

vi.mock('../../src/authz/index.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/authz/index.js')>();
  const { startH2AuthzServer } = await import('../../src/authz/h2/start-h2-server.js');
  return { ...real, startAuthzServer: startH2AuthzServer };
});

await import('./server.test.js');

import { expect, it } from 'vitest';

it('the imported suite really ran on the h2 transport', async () => {
  const { startAuthzServer } = await import('../../src/authz/index.js');
  const { startH2AuthzServer } = await import('../../src/authz/h2/start-h2-server.js');
  expect(startAuthzServer).toBe(startH2AuthzServer);
});
