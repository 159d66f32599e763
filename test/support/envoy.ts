/**
 * Real Envoy for tests: renders envoy/sidecar.yaml on free ports and waits for LIVE. Skips are not
 * allowed — when the binary is missing the test fails and says to run scripts/setup-tools.sh.
 */
import { existsSync } from 'node:fs';
import { type EnvoyPorts, type EnvoyProcess, envoyBinary, startEnvoy } from '../../src/demo/index.js';
import { freePorts } from './ports.js';

export type { EnvoyProcess } from '../../src/demo/index.js';

/**
 * Starts Envoy in front of `authzPort` (SIGIL) and `upstreamPort` (the agent) on fresh ports; `config` picks
 * another envoy/ file and `files` fills its `filename: … # @TAG` lines (TLS material).
 */
export async function startTestEnvoy(
  authzPort: number,
  upstreamPort: number,
  opts: { config?: string; files?: Record<string, string> } = {},
): Promise<EnvoyProcess> {
  const bin = envoyBinary();
  if (bin !== 'envoy' && !existsSync(bin))
    throw new Error(`Envoy not found at ${bin}: run scripts/setup-tools.sh`);
  const [listen, admin] = await freePorts(2);
  const ports: EnvoyPorts = { listen: listen!, admin: admin!, authz: authzPort, upstream: upstreamPort };
  return startEnvoy(ports, opts);
}
