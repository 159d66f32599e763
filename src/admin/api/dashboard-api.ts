/**
 * Builds the admin API from the parts `sigil serve` runs (mapped from the config by
 * src/serve/dashboard-options.ts, mounted by startSigil). When no admin token is given a random one is generated for this process and
 * logged once with the dashboard URL (the config schema's documented behaviour).
 */
import { randomBytes } from 'node:crypto';
import type { MerkleLog } from '../../ledger/index.js';
import type { Clock } from '../../lib/clock.js';
import type { PolicyEngine } from '../../policy/index.js';
import { adminLedger } from './admin-ledger.js';
import { adminPolicy } from './admin-policy.js';
import { adminTokens, type InspectOptions } from './admin-tokens.js';
import { type AdminApiHandler, createAdminApi } from './create-admin-api.js';

/** What the dashboard API serves and how (src/serve maps `sigil.admin`, `sigil.validator`, `sigil.policy` here). */
export interface DashboardApiOptions {
  /** The admin credential; absent = a random one for this process, logged once. */
  adminToken?: string;
  /** Where the admin server listens, for the beyond-loopback warning. */
  listen: string;
  /** Admin server URL, for the log line; optional. */
  adminUrl?: string;
  /** Where the token and listen warnings go (pino-compatible). */
  logger: { warn(obj: object, msg?: string): void };
  ledger: MerkleLog;
  /** The trust store and limits Check verifies with, for the token inspector. */
  tokens: Omit<InspectOptions, 'clock'>;
  /**
   * The engine the policy view shows, evaluates with and uploads to (the Check path's own, so an upload is in
   * force for Checks when it answers), and its entrypoint; absent = no policy view. The caller closes the engine.
   */
  policy?: { engine: PolicyEngine; entrypoint: string };
  clock?: Clock;
  /** Built dashboard directory (default: found next to the package); `null` serves no UI. */
  dashboardDir?: string | null;
}

/** Creates the mounted handler. */
export function dashboardApi(options: DashboardApiOptions): AdminApiHandler {
  const { logger, listen } = options;
  let adminToken = options.adminToken;
  if (adminToken === undefined) {
    adminToken = randomBytes(24).toString('base64url');
    logger.warn(
      { dashboard: `${options.adminUrl ?? `http://${listen}`}/#token=${adminToken}` },
      'sigil.admin.token is not set: generated a one-off admin token for this process (open the dashboard URL)',
    );
  }
  const host = listen.startsWith('unix:') ? 'unix' : listen.replace(/:\d+$/, '');
  if (!['127.0.0.1', 'localhost', '[::1]', 'unix'].includes(host) && !host.startsWith('127.')) {
    logger.warn(
      { listen },
      'the admin API (dashboard, policy upload) listens beyond loopback: keep sigil.admin.token secret and the port firewalled',
    );
  }
  const clock = options.clock ? { clock: options.clock } : {};
  const p = options.policy;
  const policy = p && adminPolicy(p.engine, { entrypoint: p.entrypoint, ...clock });
  return createAdminApi({
    adminToken,
    ledger: adminLedger(options.ledger),
    tokens: adminTokens({ ...options.tokens, ...clock }),
    ...(policy ? { policy } : {}),
    ...(options.dashboardDir !== undefined ? { dashboardDir: options.dashboardDir } : {}),
    ...clock,
  });
}
