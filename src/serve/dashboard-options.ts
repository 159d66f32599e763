/** `sigil.admin`, `sigil.validator` and `sigil.policy` → the dashboard API `sigil serve` mounts on the admin server. */
import { type AdminApiHandler, dashboardApi } from '../admin/api/index.js';
import type { Clock } from '../lib/clock.js';
import { policyEngineOptions } from './policy-options.js';
import type { SigilParts } from './start-sigil.js';

/**
 * Starts the dashboard API for the running parts. The policy view runs its own engine on the configured bundle,
 * evaluating inline (it has never used `sigil.policy.isolation`) and counting its loads in prom-client's default
 * registry, as before the config mapping moved here.
 */
export async function dashboardFromConfig(
  parts: Pick<SigilParts, 'config' | 'logger' | 'ledger' | 'issuer'> & { adminUrl?: string },
  o: { clock?: Clock } = {},
): Promise<AdminApiHandler> {
  const { config } = parts;
  const policy = policyEngineOptions(config);
  if (policy) delete policy.isolation;
  return dashboardApi({
    ...(config.admin.token !== undefined ? { adminToken: config.admin.token } : {}),
    listen: config.admin.listen,
    ...(parts.adminUrl !== undefined ? { adminUrl: parts.adminUrl } : {}),
    logger: parts.logger,
    ledger: parts.ledger,
    tokens: {
      trust: parts.issuer.stores.trust,
      maxChainDepth: config.validator.max_chain_depth,
      maxTtl: config.issuer.max_ttl,
      clockSkew: config.validator.clock_skew,
    },
    ...(policy ? { policy } : {}),
    ...(o.clock ? { clock: o.clock } : {}),
  });
}
