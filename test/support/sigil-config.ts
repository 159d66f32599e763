/**
 * The preamble of the tests that run `startSigil` in process: a validated config on a data dir, with the
 * Check service on a unix socket in it and the admin and issuer servers on free loopback ports, and a pino
 * logger whose lines the test reads back.
 */
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig, type SigilConfig } from '../../src/config/index.js';
import { freePorts } from './ports.js';

type Section = Record<string, unknown>;

/**
 * `loadConfig` of `overrides` (the `sigil:` document, as in sigil.yaml) over `data_dir: dataDir`,
 * `authz.listen: unix:<dataDir>/authz.sock` and free loopback ports for `admin.listen` and
 * `issuer.listen_http`/`listen_grpc`; `authz`, `admin` and `issuer` overrides are merged key by key.
 */
export async function loopbackConfig(dataDir: string, overrides: Section = {}): Promise<SigilConfig> {
  const [admin, http, grpc] = (await freePorts(3)) as [number, number, number];
  const merged = (key: string, base: Section) => ({ ...base, ...(overrides[key] as Section | undefined) });
  return loadConfig({
    env: {},
    overrides: {
      data_dir: dataDir,
      ...overrides,
      authz: merged('authz', { listen: `unix:${join(dataDir, 'authz.sock')}` }),
      admin: merged('admin', { listen: `127.0.0.1:${admin}` }),
      issuer: merged('issuer', { listen_http: `127.0.0.1:${http}`, listen_grpc: `127.0.0.1:${grpc}` }),
    },
  });
}

/** A pino logger at `level` whose JSON lines land, parsed, in `lines`. */
export function capturedLogger(level = 'info'): {
  logger: pino.Logger;
  lines: Array<Record<string, unknown>>;
} {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}
