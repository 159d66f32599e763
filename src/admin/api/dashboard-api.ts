/**
 * Builds the admin API from the parts `sigil serve` runs (src/serve startSigil's `adminHandlers` hook):
 * `startSigil(config, { adminHandlers: async (parts) => [await dashboardApi(parts)] })`.
 * The admin credential is `sigil.admin.token`; when absent a random one is generated for this process and logged
 * once with the dashboard URL (the config schema's documented behaviour).
 */
import { randomBytes } from 'node:crypto';
import type { SigilConfig } from '../../config/index.js';
import type { MerkleLog } from '../../ledger/index.js';
import type { Clock } from '../../lib/clock.js';
import { PolicyEngine } from '../../policy/index.js';
import type { TrustStore } from '../../token/api.js';
import { adminLedger } from './admin-ledger.js';
import { adminPolicy } from './admin-policy.js';
import { adminTokens } from './admin-tokens.js';
import { type AdminApiHandler, createAdminApi } from './create-admin-api.js';
import type { AdminPolicy } from './deps.js';

/** The running parts the dashboard API reads (structurally a subset of serve's SigilParts). */
export interface DashboardParts {
  config: SigilConfig;
  logger: {
    info(obj: object, msg?: string): void;
    warn(obj: object, msg?: string): void;
    error(obj: object, msg?: string): void;
  };
  ledger: MerkleLog;
  issuer: { stores: { trust: TrustStore } };
  /** Admin server URL, for the log line; optional. */
  adminUrl?: string;
}

/** Options of {@link dashboardApi}. */
export interface DashboardApiOptions {
  clock?: Clock;
  /** Built dashboard directory (default: found next to the package); `null` serves no UI. */
  dashboardDir?: string | null;
}

/**
 * Creates the mounted handler. When a policy bundle is configured, the policy view gets its own PolicyEngine on the
 * same bundle source (same loader, same evaluator, same hot reload as the Check path) because serve's decider
 * exposes only `decide`; uploads are written to that source, so the Check path's engine reloads them too.
 */
export async function dashboardApi(
  parts: DashboardParts,
  options: DashboardApiOptions = {},
): Promise<AdminApiHandler> {
  const { config, logger } = parts;
  let adminToken = config.admin.token;
  if (adminToken === undefined) {
    adminToken = randomBytes(24).toString('base64url');
    logger.warn(
      { dashboard: `${parts.adminUrl ?? `http://${config.admin.listen}`}/#token=${adminToken}` },
      'sigil.admin.token is not set: generated a one-off admin token for this process (open the dashboard URL)',
    );
  }
  const host = config.admin.listen.startsWith('unix:') ? 'unix' : config.admin.listen.replace(/:\d+$/, '');
  if (!['127.0.0.1', 'localhost', '[::1]', 'unix'].includes(host) && !host.startsWith('127.')) {
    logger.warn(
      { listen: config.admin.listen },
      'the admin API (dashboard, policy upload) listens beyond loopback: keep sigil.admin.token secret and the port firewalled',
    );
  }
  let policy: AdminPolicy | undefined;
  let engine: PolicyEngine | undefined;
  if (config.policy.bundle) {
    engine = await PolicyEngine.start({
      source: config.policy.bundle,
      entrypoint: config.policy.entrypoint,
      pollIntervalMs: config.policy.poll_interval * 1000,
      evalTimeoutMs: config.policy.eval_timeout_ms,
      logger,
      ...(options.clock ? { clock: options.clock } : {}),
    });
    policy = adminPolicy(engine, {
      source: config.policy.bundle,
      entrypoint: config.policy.entrypoint,
      ...(options.clock ? { clock: options.clock } : {}),
    });
  }
  const api = createAdminApi({
    adminToken,
    ledger: adminLedger(parts.ledger),
    tokens: adminTokens({
      trust: parts.issuer.stores.trust,
      maxChainDepth: config.validator.max_chain_depth,
      maxTtl: config.issuer.max_ttl,
      clockSkew: config.validator.clock_skew,
      ...(options.clock ? { clock: options.clock } : {}),
    }),
    ...(policy ? { policy } : {}),
    ...(options.dashboardDir !== undefined ? { dashboardDir: options.dashboardDir } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const close = api.close;
  api.close = () => {
    close();
    void engine?.close();
  };
  return api;
}
