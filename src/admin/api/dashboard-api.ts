/**
 * Builds the admin API from the parts `sigil serve` runs (mapped from the config by src/serve; mounted through
 * startSigil's `adminHandlers` hook). When no admin token is given a random one is generated for this process and
 * logged once with the dashboard URL (the config schema's documented behaviour).
 */
import { randomBytes } from 'node:crypto';
import type { MerkleLog } from '../../ledger/index.js';
import type { Clock } from '../../lib/clock.js';
import {
  DEFAULT_ENTRYPOINT,
  PolicyEngine,
  type PolicyEngineOptions,
  type PolicyLogger,
} from '../../policy/index.js';
import { adminLedger } from './admin-ledger.js';
import { adminPolicy } from './admin-policy.js';
import { adminTokens, type InspectOptions } from './admin-tokens.js';
import { type AdminApiHandler, createAdminApi } from './create-admin-api.js';
import type { AdminPolicy } from './deps.js';

/** What the dashboard API serves and how (src/serve maps `sigil.admin`, `sigil.validator`, `sigil.policy` here). */
export interface DashboardApiOptions {
  /** The admin credential; absent = a random one for this process, logged once. */
  adminToken?: string;
  /** Where the admin server listens, for the beyond-loopback warning. */
  listen: string;
  /** Admin server URL, for the log line; optional. */
  adminUrl?: string;
  logger: PolicyLogger;
  ledger: MerkleLog;
  /** The trust store and limits Check verifies with, for the token inspector. */
  tokens: Omit<InspectOptions, 'clock'>;
  /** The bundle the policy view runs (its own engine); absent = no policy view. */
  policy?: PolicyEngineOptions;
  clock?: Clock;
  /** Built dashboard directory (default: found next to the package); `null` serves no UI. */
  dashboardDir?: string | null;
}

/**
 * Creates the mounted handler. With `policy`, the policy view runs its own PolicyEngine on that bundle source (same
 * loader, evaluator and hot reload as the Check path); uploads are written to the source, so the Check path's
 * engine reloads them too.
 */
export async function dashboardApi(options: DashboardApiOptions): Promise<AdminApiHandler> {
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
  let policy: AdminPolicy | undefined;
  let engine: PolicyEngine | undefined;
  if (options.policy) {
    engine = await PolicyEngine.start({ ...options.policy, logger, ...clock });
    policy = adminPolicy(engine, {
      source: options.policy.source,
      entrypoint: options.policy.entrypoint ?? DEFAULT_ENTRYPOINT,
      ...clock,
    });
  }
  const api = createAdminApi({
    adminToken,
    ledger: adminLedger(options.ledger),
    tokens: adminTokens({ ...options.tokens, ...clock }),
    ...(policy ? { policy } : {}),
    ...(options.dashboardDir !== undefined ? { dashboardDir: options.dashboardDir } : {}),
    ...clock,
  });
  const close = api.close;
  api.close = () => {
    close();
    void engine?.close();
  };
  return api;
}
